// Package sshconfig reads OpenSSH client configuration (ssh_config(5)) and
// resolves the effective options for one destination the way ssh(1) 9.x does:
// command-line options first, then the user file (-F, else ~/.ssh/config),
// then /etc/ssh/ssh_config; the first value obtained for a keyword wins,
// except for the keywords that accumulate (IdentityFile, CertificateFile,
// LocalForward, RemoteForward, DynamicForward, SendEnv). Dump prints the
// result as `ssh -G` does.
//
// It reads the files it is told to read and nothing else, it neither dials
// nor looks at the environment, and it does not import golang.org/x/crypto.
// It starts a process only for "Match exec", and only through the Input.Exec
// its caller passes (ShellExec is ssh's way of running it). It is NOT a validator of every value ssh accepts:
// algorithm lists, IPQoS, RekeyLimit and similar values are kept verbatim;
// only the values the project acts on (ports, times, flags, host-key policy,
// forwards, environment lists) are checked, with ssh's own error text.
//
// Deliberate differences from ssh, all on paths this project does not use:
//   - "Match exec" never matches when Input.Exec is nil.
//   - CanonicalizeHostname is not performed; "Match canonical" and "Match
//     final" match only in the final pass, which runs when "Match final" is
//     present, as in ssh.
//   - ${NAME} is expanded by ExpandEnv, from the environment its caller
//     gives, in the keywords ssh expands it in (ControlPath, IdentityAgent,
//     UserKnownHostsFile; IdentityFile and CertificateFile when loaded);
//     LocalForward and RemoteForward socket paths keep it as written.
package sshconfig
