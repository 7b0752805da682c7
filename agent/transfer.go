package agent

import (
	"os"
	"os/user"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/transfer"
	"github.com/mitogen-go/mitogend/tunnel"
)

// registerTransfer serves mitogend cp's file transfers (package transfer) to the controller
// side, as this agent's user: relative paths start in the home directory.
func registerTransfer(a *agent) {
	serve := func(f func(transfer.Stream, []byte, string) error) tunnel.NewStreamHandler {
		return a.fromController(func(s *tunnel.Stream, payload []byte) {
			defer a.writing.start()()
			defer s.Close()
			if err := f(s, payload, homeDir()); err != nil {
				a.logf("agent: transfer: %v", err)
			}
		})
	}
	a.ep.ListenNew(proto.AgentPut, serve(transfer.ServePut))
	a.ep.ListenNew(proto.AgentGet, serve(transfer.ServeGet))
}

// homeDir is the account's home directory, where sshd starts scp and sftp; "" when it cannot
// be entered.
func homeDir() string {
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		if st, err := os.Stat(u.HomeDir); err == nil && st.IsDir() {
			return u.HomeDir
		}
	}
	return ""
}
