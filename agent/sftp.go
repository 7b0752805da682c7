package agent

import (
	"os"
	"os/user"

	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/sftpserver"
	"github.com/mitogen-go/mitogend/tunnel"
)

// serveBuiltinSFTP serves the sftp subsystem in-process, on every target (with or without
// sftp-server): uploads that replace a file go through a temporary file renamed over it, so that
// scp (SFTP mode), sftp, restic and Ansible never leave a partial file behind, and the session
// saves sftp-server's process and a copy of every byte through its pipes. The stream carries the
// SFTP packets as sftp-server's stdin and stdout would; the session ends like a subsystem's:
// exit status, then EOF.
func serveBuiltinSFTP(s *tunnel.Stream, logf router.Logf) {
	c := sftpserver.Config{Logf: logf}
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
