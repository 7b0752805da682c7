// Package emulation runs a command on the target exactly as OpenSSH's sshd
// would for an exec, shell or subsystem request on a session channel, with
// or without a pty.
//
// The agent that uses it was itself started by sshd, so its initial
// environment is sshd's session environment; BaseEnv cleans that up once and
// Start rebuilds, for each request, what sshd's do_child would have built:
// the user's login shell with "-c", the home directory from the passwd
// entry, a new session (setsid), ~/.ssh/rc or /etc/ssh/sshrc first, separate
// stdin/stdout/stderr pipes, exit-status or exit-signal on exit.
//
// It is not an SSH server: it parses no SSH messages, applies no AcceptEnv
// filter (the caller does), and does not switch users or open PAM sessions (the agent already runs as the user, inside sshd's
// PAM session).
package emulation
