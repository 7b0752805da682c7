// Package sshdial opens an authenticated *ssh.Client for a sshconfig.Target,
// with OpenSSH's host-key policy (known_hosts, StrictHostKeyChecking,
// HostKeyAlias, hashed entries), public-key authentication from ssh-agent
// and identity files, ConnectTimeout and ServerAlive keepalives. Failures
// carry the exact text ssh(1) 9.x prints, so a drop-in client can show it.
//
// It is the only package of the project that imports golang.org/x/crypto/ssh.
// It is NOT an interactive client: it never prompts, so password and
// keyboard-interactive authentication, encrypted identity files and "ask"
// host-key confirmation are refused the way ssh refuses them in BatchMode.
// Host certificates, certificate identities, ProxyCommand and ProxyJump are
// not implemented here; Config.DialContext lets the caller supply the
// transport for the last two.
package sshdial
