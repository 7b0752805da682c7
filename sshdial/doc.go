// Package sshdial opens an authenticated SSH connection for a
// sshconfig.Target, with OpenSSH 9.2's host-key policy, public-key
// authentication from ssh-agent and identity files, password and
// keyboard-interactive authentication through the caller's Config.Prompt,
// ConnectTimeout and ServerAlive keepalives. Failures carry the exact text
// ssh(1) 9.2 prints, so a drop-in client can show it.
//
// Authentication follows sshconnect2.c: methods in PreferredAuthentications
// order (by default publickey, keyboard-interactive, password), each while
// the server allows it and the options enable it; NumberOfPasswordPrompts
// tries of each interactive method, "Permission denied, please try again."
// between passwords, prompts worded as ssh words them, and BatchMode,
// PasswordAuthentication no, KbdInteractiveAuthentication no or a host key
// let through by StrictHostKeyChecking=no ruling the interactive methods
// out. gssapi-with-mic and hostbased are never tried, nor is a password
// change the server asks for. Where ssh starts with a "none" request to learn
// the server's methods, a login whose first method is publickey, with a key to
// offer, starts with that key's query, sent with the service request (the
// patched x/crypto's ClientConfig.FirstAuth): two round trips fewer, and the
// same methods learnt from its failure.
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
// Client.AcceptedEnv asks the server which variable names its AcceptEnv
// lets through, so that a caller can deliver ssh's SendEnv and SetEnv as
// sshd would. Config.HideInfo keeps what ssh logs with logit ("Warning:
// Permanently added ...") out of Warnf, for a caller whose LogLevel is
// below INFO.
//
// It is the only package of the project that dials with
// golang.org/x/crypto/ssh. It has no terminal of its own: every question
// goes to Config.Prompt, and without one it asks nothing, so that password
// and keyboard-interactive authentication are refused as in BatchMode.
// Encrypted identity files and "ask" host-key confirmation are refused the
// way ssh refuses them in BatchMode, prompt or not. Certificate identities (CertificateFile),
// KnownHostsCommand, RevokedHostKeys, VerifyHostKeyDNS, CheckHostIP and
// UpdateHostKeys' key rotation, ProxyCommand and ProxyJump are not
// implemented here; Config.DialContext lets the caller supply the
// transport for the last two. Host-key algorithms are OpenSSH's default
// order less the security-key types, which x/crypto cannot verify as host
// keys.
package sshdial
