package sshdtest

import "strings"

// DefaultSSHD is the sshd binary Start uses unless WithSSHD says otherwise.
// sshd must be given an absolute path because it re-executes itself for
// every connection.
const DefaultSSHD = "/usr/sbin/sshd"

// DefaultSFTPServer is the sftp subsystem configured unless WithSFTP(false).
const DefaultSFTPServer = "/usr/lib/openssh/sftp-server"

// config collects what Options change; the zero value is not used, see
// defaultConfig.
type config struct {
	sshd       string
	sftpServer string // empty means no Subsystem line
	extra      string
	placement  // where sshd runs and listens (netns.go)
}

func defaultConfig() config {
	return config{sshd: DefaultSSHD, sftpServer: DefaultSFTPServer}
}

// Option changes how Start configures sshd.
type Option func(*config)

// WithSFTP(false) leaves out the sftp Subsystem line, so that "sftp" and
// "scp" in SFTP mode fail the way they do against a server without
// sftp-server.
func WithSFTP(enabled bool) Option {
	return func(c *config) {
		if enabled {
			c.sftpServer = DefaultSFTPServer
		} else {
			c.sftpServer = ""
		}
	}
}

// WithSFTPServer configures the sftp subsystem to run path instead of
// DefaultSFTPServer.
func WithSFTPServer(path string) Option {
	return func(c *config) { c.sftpServer = path }
}

// WithExtraConfig adds sshd_config lines. For most keywords sshd keeps the
// first value it reads, so the lines before the first "Match" line are put
// ahead of the harness's defaults and override them; a Match block and
// everything after it goes to the end, where Match blocks must be. Several
// WithExtraConfig options accumulate in order.
func WithExtraConfig(lines string) Option {
	return func(c *config) {
		c.extra = strings.TrimRight(c.extra+"\n"+lines, "\n")
	}
}

// WithSSHD runs the sshd binary at path (absolute) instead of DefaultSSHD.
func WithSSHD(path string) Option {
	return func(c *config) { c.sshd = path }
}
