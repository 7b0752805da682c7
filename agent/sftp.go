package agent

import (
	"os"
	"os/user"

	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/sftpserver"
	"github.com/mitogen-go/mitogend/tunnel"
)

// serveBuiltinSFTP serves the sftp subsystem in-process on a target without sftp-server, so that
// scp (SFTP mode) and sftp work there. The stream carries the SFTP packets as sftp-server's
// stdin and stdout would; the session ends like a subsystem's: exit status, then EOF.
func serveBuiltinSFTP(s *tunnel.Stream, logf router.Logf) {
	var c sftpserver.Config
	// sshd starts sftp-server in the account's home directory, which relative paths name.
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		if st, err := os.Stat(u.HomeDir); err == nil && st.IsDir() {
			c.Dir = u.HomeDir
		}
	}
	status := 0
	if err := sftpserver.Serve(s, s, c); err != nil {
		logf("agent: built-in sftp: %v", err)
		status = 1
	}
	sendStatus(s, status)
	s.CloseWrite()
}
