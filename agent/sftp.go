package agent

import (
	"errors"
	"io"
	"os"
	"os/user"

	"github.com/pkg/sftp"

	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// serveBuiltinSFTP serves the sftp subsystem in-process on a target without sftp-server, so that
// scp (SFTP mode) and sftp work there. The stream carries the SFTP packets as sftp-server's
// stdin and stdout would; the session ends like a subsystem's: exit status, then EOF.
func serveBuiltinSFTP(s *tunnel.Stream, logf router.Logf) {
	var opts []sftp.ServerOption
	// sshd starts sftp-server in the account's home directory, which relative paths name.
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		if st, err := os.Stat(u.HomeDir); err == nil && st.IsDir() {
			opts = append(opts, sftp.WithServerWorkingDirectory(u.HomeDir))
		}
	}
	// The server closes its connection only when a worker fails (the peer went away); at the end
	// of input it just returns, leaving the stream open for the exit status.
	srv, err := sftp.NewServer(s, opts...)
	if err != nil {
		fail(s, "subsystem request failed on channel 0")
		return
	}
	status := 0
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		logf("agent: built-in sftp: %v", err)
		status = 1
	}
	sendStatus(s, status)
	s.CloseWrite()
}
