package sshdial

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// Requests are the parts of the caller's ssh invocation that OpenSSH
// turns off, printing one line for each, when StrictHostKeyChecking=no
// lets a changed or revoked host key through. PasswordAuthentication and
// KbdInteractiveAuthentication come from the Target.
type Requests struct {
	ForwardAgent bool // -A, ForwardAgent other than no
	ForwardX11   bool // -X, -Y, ForwardX11 yes
	PortForwards bool // any -L, -R or -D, LocalForward, RemoteForward, DynamicForward
	Tunnel       bool // -w, Tunnel other than no
	// UpdateHostKeys is the effective UpdateHostKeys (yes or ask): ssh
	// turns it on by default only with the default UserKnownHostsFile,
	// as `ssh -G` shows.
	UpdateHostKeys bool
	// ExitOnForwardFailure makes turning any of the above (or password or
	// keyboard-interactive authentication) off fatal, as in ssh.
	ExitOnForwardFailure bool
}

// HostKeyResult is how a host key was accepted.
type HostKeyResult struct {
	// ForwardingDisabled: the key was accepted only because
	// StrictHostKeyChecking=no let a changed (or revoked) key through.
	// ssh then carries on without password and keyboard-interactive
	// authentication and without agent, X11, port and tunnel forwarding;
	// the caller must not forward anything for this call.
	ForwardingDisabled bool
	// Certificate: the key is a host certificate signed by a CA that a
	// @cert-authority line lists for the host, and valid for it now.
	Certificate bool
	// Added: the key was appended to the first user known_hosts file
	// (StrictHostKeyChecking accept-new or no).
	Added bool
}

// VerifyHostKey applies to key (as the server presented it, certificate
// or not) exactly the policy Dial applies during the handshake: the same
// known_hosts files read afresh when they have changed, the same *Error
// on refusal, the same lines through Warnf when accepted, the same
// additions to known_hosts. A shared connection calls it for every new
// caller, so that a key revoked or changed since the connection was made
// is refused. It is cheap when the files have not changed: one stat per
// file and memoised lookups.
func VerifyHostKey(c Config, key ssh.PublicKey) (HostKeyResult, error) {
	if cert, ok := key.(*ssh.Certificate); ok {
		if err := verifyCertSignature(cert); err != nil {
			return HostKeyResult{}, &Error{Err: wrap(ErrProtocol, err), Message: fmt.Sprintf(
				"ssh_dispatch_run_fatal: Connection to %s port %d: %s", c.Target.HostName, c.Target.Port, certSignatureText)}
		}
	}
	res, err := c.checkHostKey(key)
	if err != nil {
		return res, err // not a nil *Error in a non-nil error
	}
	return res, nil
}

// checkHostKey is verify_host_key after the certificate has parsed.
func (c *Config) checkHostKey(key ssh.PublicKey) (HostKeyResult, *Error) {
	h := newHostCheck(c)
	logServerKey(c, key)
	ok, status := h.check(sshopt.ASCIILower(c.Target.HostName), c.Target.Port, key, readWrite, false)
	if ok {
		for i, l := range h.lines {
			if h.info[i] {
				c.infof("%s", l)
			} else {
				c.warnf("%s", l)
			}
		}
		return h.result, nil
	}
	lines := h.lines
	if !h.fatal {
		lines = append(lines, "Host key verification failed.")
	}
	return h.result, &Error{Err: statusError(status), Message: strings.Join(lines, "\n"), Lines: lines}
}

func statusError(s hostStatus) error {
	switch s {
	case hostChanged:
		return ErrHostKeyChanged
	case hostRevoked:
		return ErrHostKeyRevoked
	}
	return ErrHostKeyUnknown
}

// logServerKey is verify_host_key's debug line about the key.
func logServerKey(c *Config, key ssh.PublicKey) {
	if c.Logf == nil {
		return // fingerprints cost more than the rest of a warm check
	}
	cert, ok := key.(*ssh.Certificate)
	if !ok {
		c.logf("Server host key: %s %s", key.Type(), ssh.FingerprintSHA256(key))
		return
	}
	c.logf("Server host certificate: %s %s, serial %d ID %q CA %s %s, principals %q",
		cert.Type(), ssh.FingerprintSHA256(cert.Key), cert.Serial, cert.KeyId,
		cert.SignatureKey.Type(), ssh.FingerprintSHA256(cert.SignatureKey), cert.ValidPrincipals)
}
