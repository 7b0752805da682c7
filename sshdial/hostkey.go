package sshdial

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mitogen-go/mitogend/internal/syserr"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys applies OpenSSH's known_hosts policy for one connection.
type hostKeys struct {
	c      *Config
	addr   string // host:port handed to knownhosts
	name   string // how ssh names the host in known_hosts and messages
	db     ssh.HostKeyCallback
	known  map[string]bool // key types known_hosts already has for name
	strict string

	accepted bool   // the host key passed; later failures are auth's
	failure  *Error // why the host key was refused
}

// defaultHostKeyAlgorithms is OpenSSH's order restricted to what x/crypto
// verifies. Certificate algorithms are left out: without a matching
// @cert-authority line x/crypto cannot fall back to the plain key.
var defaultHostKeyAlgorithms = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

func newHostKeys(c *Config) (*hostKeys, error) {
	t := c.Target
	h := &hostKeys{c: c, strict: t.StrictHostKeyChecking, known: map[string]bool{}}
	if t.HostKeyAlias != "" {
		// ssh uses the alias verbatim, without the port.
		h.addr = net.JoinHostPort(t.HostKeyAlias, "22")
	} else {
		h.addr = net.JoinHostPort(t.HostName, strconv.Itoa(t.Port))
	}
	h.name = knownhosts.Normalize(h.addr)
	var files []string
	for _, f := range append(append([]string(nil), t.UserKnownHostsFiles...), t.GlobalKnownHostsFiles...) {
		if _, err := os.Stat(f); err != nil {
			c.logf("known hosts file %s: %s", f, syserr.Text(err))
			continue
		}
		if _, err := knownhosts.New(f); err != nil {
			c.logf("skipping known hosts file %s: %v", f, err)
			continue
		}
		files = append(files, f)
	}
	if len(files) > 0 {
		db, err := knownhosts.New(files...)
		if err != nil {
			return nil, &Error{Message: "sshdial: " + err.Error(), Err: err}
		}
		h.db = db
	}
	if ke := h.lookup(probeKey); ke != nil {
		for _, k := range ke.Want {
			h.known[k.Key.Type()] = true
		}
	}
	return h, nil
}

// probeKey is never in a known_hosts file; looking it up lists the keys
// that are.
var probeKey, _ = ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))

type addrString string

func (a addrString) Network() string { return "tcp" }
func (a addrString) String() string  { return string(a) }

// lookup consults known_hosts by name only (ssh's default CheckHostIP=no):
// the remote address passed to knownhosts is the name itself.
func (h *hostKeys) lookup(key ssh.PublicKey) *knownhosts.KeyError {
	if h.db == nil {
		return &knownhosts.KeyError{}
	}
	err := h.db(h.addr, addrString(h.addr), key)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		return ke
	}
	return nil
}

// algorithms puts first the algorithms of the keys known_hosts already has
// for this host, as OpenSSH does, so the server is asked for the key we
// can verify rather than its favourite.
func (h *hostKeys) algorithms() []string {
	var first, rest []string
	for _, alg := range defaultHostKeyAlgorithms {
		if h.known[keyTypeOf(alg)] {
			first = append(first, alg)
		} else {
			rest = append(rest, alg)
		}
	}
	return append(first, rest...)
}

func keyTypeOf(alg string) string {
	if alg == ssh.KeyAlgoRSASHA256 || alg == ssh.KeyAlgoRSASHA512 {
		return ssh.KeyAlgoRSA
	}
	return alg
}

// check is the HostKeyCallback.
func (h *hostKeys) check(_ string, _ net.Addr, key ssh.PublicKey) error {
	var err error
	if h.db != nil {
		err = h.db(h.addr, addrString(h.addr), key)
	} else {
		err = &knownhosts.KeyError{}
	}
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case err == nil:
		h.accepted = true
		return nil
	case errors.As(err, &re):
		return h.fail(ErrHostKeyRevoked, revokedMessage(key, h.name))
	case errors.As(err, &ke) && len(ke.Want) == 0:
		return h.unknown(key)
	case errors.As(err, &ke):
		return h.changed(key, ke.Want[0])
	}
	return h.fail(ErrProtocol, err.Error())
}

func (h *hostKeys) fail(sentinel error, msg string) error {
	if msg != "" {
		msg += "\n"
	}
	h.failure = &Error{Err: sentinel, Message: msg + "Host key verification failed."}
	return h.failure
}

func (h *hostKeys) unknown(key ssh.PublicKey) error {
	switch h.strict {
	case "yes":
		return h.fail(ErrHostKeyUnknown, fmt.Sprintf(
			"No %s host key is known for %s and you have requested strict checking.", keyName(key), h.name))
	case "ask":
		// A daemon cannot ask; ssh in BatchMode says only this.
		h.c.logf("StrictHostKeyChecking=ask cannot prompt; refusing unknown host key for %s", h.name)
		return h.fail(ErrHostKeyUnknown, "")
	}
	if err := h.add(key); err != nil {
		h.c.logf("adding host key: %v", err)
		h.c.warnf("Failed to add the host to the list of known hosts (%s).", h.firstUserFile())
	} else {
		h.c.warnf("Warning: Permanently added '%s' (%s) to the list of known hosts.", h.name, keyName(key))
	}
	h.accepted = true
	return nil
}

func (h *hostKeys) changed(key ssh.PublicKey, found knownhosts.KnownKey) error {
	lines := []string{
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
		"@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
		"IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
		"Someone could be eavesdropping on you right now (man-in-the-middle attack)!",
		"It is also possible that a host key has just been changed.",
		"The fingerprint for the " + keyName(key) + " key sent by the remote host is",
		ssh.FingerprintSHA256(key) + ".",
		"Please contact your system administrator.",
		"Add correct host key in " + h.firstUserFile() + " to get rid of this message.",
		fmt.Sprintf("Offending %s key in %s:%d", keyName(found.Key), found.Filename, found.Line),
		"  remove with:",
		fmt.Sprintf("  ssh-keygen -f \"%s\" -R \"%s\"", found.Filename, h.name),
	}
	if h.strict != "no" {
		lines = append(lines, "Host key for "+h.name+" has changed and you have requested strict checking.")
		return h.fail(ErrHostKeyChanged, strings.Join(lines, "\n"))
	}
	// ssh carries on but turns off what a man in the middle could abuse;
	// this package never uses those methods anyway.
	if h.c.Target.PasswordAuthentication {
		lines = append(lines, "Password authentication is disabled to avoid man-in-the-middle attacks.")
	}
	if h.c.Target.KbdInteractiveAuthentication {
		lines = append(lines, "Keyboard-interactive authentication is disabled to avoid man-in-the-middle attacks.")
	}
	h.c.warnf("%s", strings.Join(lines, "\n"))
	h.accepted = true
	return nil
}

func (h *hostKeys) firstUserFile() string {
	if len(h.c.Target.UserKnownHostsFiles) == 0 {
		return ""
	}
	return h.c.Target.UserKnownHostsFiles[0]
}

// add appends the key to the first user known_hosts file, hashing the name
// when HashKnownHosts is set, creating the directory 0700 and file 0600.
func (h *hostKeys) add(key ssh.PublicKey) error {
	path := h.firstUserFile()
	if path == "" {
		return errors.New("no user known hosts file")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	name := h.name
	if h.c.Target.HashKnownHosts {
		name = knownhosts.HashHostname(name)
	}
	line := name + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))) + "\n"
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func revokedMessage(key ssh.PublicKey, name string) string {
	return strings.Join([]string{
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
		"@       WARNING: REVOKED HOST KEY DETECTED!               @",
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
		"The " + keyName(key) + " host key for " + name + " is marked as revoked.",
		"This could mean that a stolen key is being used to",
		"impersonate this host.",
	}, "\n")
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
