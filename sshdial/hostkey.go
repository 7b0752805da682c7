package sshdial

import (
	"crypto/rand"
	"crypto/sha1"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// hostKeys applies OpenSSH's host-key policy to one connection's
// handshake.
type hostKeys struct {
	c    *Config
	algs []string // HostKeyAlgorithms, ordered for what known_hosts holds

	accepted bool          // the host key passed; later failures are auth's
	key      ssh.PublicKey // the key that passed, as the server sent it
	result   HostKeyResult
	failure  *Error // why the host key was refused
}

func newHostKeys(c *Config) *hostKeys {
	h := newHostCheck(c)
	host := h.hostfileName(sshopt.ASCIILower(c.Target.HostName), c.Target.Port)
	return &hostKeys{c: c, algs: orderHostKeyAlgorithms(loadHostkeys(host, h.files, c.logf))}
}

// check is the HostKeyCallback. x/crypto calls it again at every re-key;
// as ssh, the key already accepted passes without a word.
func (h *hostKeys) check(_ string, remote net.Addr, key ssh.PublicKey) error {
	if h.accepted && sameKey(key, h.key) {
		return nil
	}
	if cert, ok := key.(*ssh.Certificate); ok {
		if err := verifyCertSignature(cert); err != nil {
			ip, port := addrIPPort(remote, h.c.Target.Port)
			h.failure = &Error{Err: wrap(ErrProtocol, err),
				Message: fmt.Sprintf("ssh_dispatch_run_fatal: Connection to %s port %d: %s", ip, port, certSignatureText)}
			return h.failure
		}
	}
	res, err := h.c.checkHostKey(key)
	if err != nil {
		h.failure = err
		return err
	}
	h.accepted, h.key, h.result = true, key, res
	return nil
}

// changedLines is sshconnect.c's warn_changed_key.
func changedLines(key ssh.PublicKey) []string {
	return []string{
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
		"@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
		"IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
		"Someone could be eavesdropping on you right now (man-in-the-middle attack)!",
		"It is also possible that a host key has just been changed.",
		// One message of ssh's log, with a newline of its own.
		"The fingerprint for the " + keyName(key) + " key sent by the remote host is\n" +
			ssh.FingerprintSHA256(plainKey(key)) + ".",
		"Please contact your system administrator.",
	}
}

// revokedLines is the HOST_REVOKED banner.
func revokedLines(typ, host string) []string {
	return []string{
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
		"@       WARNING: REVOKED HOST KEY DETECTED!               @",
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
		"The " + typ + " host key for " + host + " is marked as revoked.",
		"This could mean that a stolen key is being used to",
		"impersonate this host.",
	}
}

// addHostKey is add_host_to_hostfile: append "host key" to file, the
// name hashed when asked. As in ssh 9.2, a last line without its newline
// is not completed first. The directory is created 0700 and the file 0600.
func addHostKey(file, host string, key ssh.PublicKey, hash bool) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	name := sshopt.ASCIILower(host)
	if hash {
		salt := make([]byte, sha1.Size)
		rand.Read(salt)
		name = hashHost(name, salt)
	}
	line := name + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + "\n"
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// keyName is sshkey_type(): the short upper-case name ssh prints.
func keyName(key ssh.PublicKey) string {
	t := key.Type()
	cert := strings.Contains(t, "-cert-v01@openssh.com")
	var name string
	switch {
	case strings.HasPrefix(t, "ssh-ed25519"):
		name = "ED25519"
	case strings.HasPrefix(t, "sk-ssh-ed25519"):
		name = "ED25519-SK"
	case strings.HasPrefix(t, "ecdsa-sha2-"):
		name = "ECDSA"
	case strings.HasPrefix(t, "sk-ecdsa-sha2-"):
		name = "ECDSA-SK"
	case strings.HasPrefix(t, "ssh-rsa"), strings.HasPrefix(t, "rsa-sha2-"):
		name = "RSA"
	case strings.HasPrefix(t, "ssh-dss"):
		name = "DSA"
	default:
		return t
	}
	if cert {
		name += "-CERT"
	}
	return name
}
