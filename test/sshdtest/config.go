package sshdtest

import (
	"fmt"
	"strings"
)

// HostAlias is the Host name that Server.SSHConfig defines for the server.
const HostAlias = "target"

// sshdParams is everything the generated sshd_config depends on.
type sshdParams struct {
	listen         string // ListenAddress
	port           int
	hostKey        string
	pidFile        string
	authorizedKeys string
	home           string
	sftpServer     string
	extra          string
}

// sshdConfig renders the sshd_config text. Every keyword here is valid for
// OpenSSH 9.2; newer-only keywords (PerSourcePenalties) must not be added.
func sshdConfig(p sshdParams) string {
	head, tail := splitAtMatch(p.extra)
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	if head != "" {
		line("%s", head)
	}
	line("ListenAddress %s", p.listen)
	line("Port %d", p.port)
	line("HostKey %s", quote(p.hostKey))
	line("PidFile %s", quote(p.pidFile))
	line("AuthorizedKeysFile %s", quote(p.authorizedKeys))
	// The keys live under a temporary directory that StrictModes would
	// reject (world-writable /tmp parent).
	line("StrictModes no")
	// PAM would need root and would read /etc/pam.d; it also stops an
	// unprivileged sshd from logging in its own user.
	line("UsePAM no")
	line("PasswordAuthentication no")
	line("KbdInteractiveAuthentication no")
	line("PubkeyAuthentication yes")
	line("PermitRootLogin prohibit-password")
	line("LogLevel VERBOSE")
	if p.sftpServer != "" {
		line("Subsystem sftp %s", quote(p.sftpServer))
	}
	// A clean HOME keeps the target account's shell from reading its real
	// rc files (root's ~/.bashrc runs pyenv: 0.6 s per command).
	line("SetEnv %s", quote("HOME="+p.home))
	line("AcceptEnv LANG LC_* GIT_PROTOCOL")
	// Tests multiplex many sessions and open connections in bursts.
	line("MaxSessions 100")
	line("MaxStartups 100:30:200")
	if tail != "" {
		line("%s", tail)
	}
	return b.String()
}

// splitAtMatch splits extra sshd_config text before its first Match line.
func splitAtMatch(extra string) (head, tail string) {
	lines := strings.Split(strings.Trim(extra, "\n"), "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) > 0 && strings.EqualFold(f[0], "Match") {
			return strings.Join(lines[:i], "\n"), strings.Join(lines[i:], "\n")
		}
	}
	return strings.Join(lines, "\n"), ""
}

// sshClientParams is everything the generated ssh_config depends on.
type sshClientParams struct {
	host         string
	port         int
	user         string
	identityFile string
	knownHosts   string
}

// sshClientConfig renders the ssh_config text for the OpenSSH client and
// fakessh. Algorithms are left at their defaults on purpose.
func sshClientConfig(p sshClientParams) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Host %s\n", HostAlias)
	fmt.Fprintf(&b, "    HostName %s\n", p.host)
	fmt.Fprintf(&b, "    Port %d\n", p.port)
	fmt.Fprintf(&b, "    User %s\n", p.user)
	fmt.Fprintf(&b, "    IdentityFile %s\n", quote(p.identityFile))
	fmt.Fprintf(&b, "    IdentitiesOnly yes\n")
	fmt.Fprintf(&b, "    UserKnownHostsFile %s\n", quote(p.knownHosts))
	fmt.Fprintf(&b, "    StrictHostKeyChecking yes\n")
	return b.String()
}

// knownHostsLine is the known_hosts entry for a server on a non-22 port.
func knownHostsLine(host string, port int, hostPub string) string {
	f := strings.Fields(hostPub)
	if len(f) >= 2 {
		hostPub = f[0] + " " + f[1] // drop the key comment
	}
	return fmt.Sprintf("[%s]:%d %s\n", host, port, hostPub)
}

// quote double-quotes a config argument only when it needs it, so that the
// common case stays readable for simple config parsers.
func quote(s string) string {
	if strings.ContainsAny(s, " \t\"'#") {
		return `"` + s + `"`
	}
	return s
}
