// Package sshdtest starts a real OpenSSH sshd on loopback for end-to-end
// tests of fakessh, mitogend and the programs that drive ssh (rsync, scp,
// sftp, git).
//
// Every server gets fresh ed25519 host and client keys, its own
// sshd_config, authorized_keys, known_hosts, ssh_config and log file in a
// temporary directory, and a clean HOME for the sessions it runs (root's
// real ~/.bashrc is slow, see Server.Home). The target account is the user
// running the test, because an unprivileged sshd can only log in as itself;
// a root sshd also lets in the accounts WithAccount names.
//
// It is NOT a mock or an in-process SSH server: nothing is faked, and tests
// are skipped under -short and when /usr/sbin/sshd or ssh-keygen is not
// installed (they fail instead under testenv's require switch). It does not
// touch the real ~/.ssh, /etc/ssh or any ssh-agent.
//
// Running as root, sshd needs its privilege separation directory /run/sshd,
// which Start creates (mode 0755) when missing. Running as another user,
// sshd skips privilege separation's chroot and needs nothing extra; UsePAM
// is off in both cases, unless WithPasswordLogin asks for PAM. AddUser
// (root only) makes a local account with a known password for
// WithPasswordLogin, and removes it after the test.
package sshdtest
