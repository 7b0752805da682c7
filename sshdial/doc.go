// Package sshdial opens an authenticated SSH connection for a
// sshconfig.Target, with OpenSSH 9.2's host-key policy, public-key
// authentication from ssh-agent and identity files, ConnectTimeout and
// ServerAlive keepalives. Failures carry the exact text ssh(1) 9.2 prints,
// so a drop-in client can show it.
//
// The host-key policy is sshconnect.c's check_host_key over a known_hosts
// reader of its own (hostfile.c's rules: patterns with negation, hashed
// names, [host]:port, @cert-authority and @revoked markers, bad lines
// skipped), by name only (CheckHostIP=no), user files then global ones,
// with host certificates, the retry without the port and the
// StrictHostKeyChecking=no fallback that turns forwarding off.
// VerifyHostKey applies the same policy again to a connection's key, so
// that a shared connection can check every new caller; parsed files are
// cached until they change.
//
// It is the only package of the project that dials with
// golang.org/x/crypto/ssh. It is NOT an interactive client: it never
// prompts, so password and keyboard-interactive authentication, encrypted
// identity files and "ask" host-key confirmation are refused the way ssh
// refuses them in BatchMode. Certificate identities (CertificateFile),
// KnownHostsCommand, RevokedHostKeys, VerifyHostKeyDNS, CheckHostIP and
// UpdateHostKeys' key rotation, ProxyCommand and ProxyJump are not
// implemented here; Config.DialContext lets the caller supply the
// transport for the last two. Host-key algorithms are OpenSSH's default
// order less the security-key types, which x/crypto cannot verify as host
// keys.
package sshdial
