package sshdial

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// marker is what precedes the host patterns of a known_hosts line.
type marker int

const (
	markNone    marker = iota
	markCA             // @cert-authority: the key signs host certificates
	markRevoked        // @revoked: the key must never be accepted
)

// hostEntry is one usable known_hosts line, as hostfile.c's
// hostkeys_foreach_file keeps it. Lines ssh would skip are never entries.
type hostEntry struct {
	file   string
	line   int
	marker marker
	hosts  string // the patterns, or a hashed name
	key    ssh.PublicKey

	// For a hashed name: "|1|" + salt + "|", and the decoded salt.
	hashPrefix string
	salt       []byte
}

const hashMagic = "|1|"

// parseKnownHosts keeps the lines of a known_hosts file that ssh can use.
// Comments, blank lines, unknown markers, lines without a key, keys that
// do not parse and hashed names with a bad salt are dropped: ssh skips
// them too (with a debug message at most), whatever host it looks up.
func parseKnownHosts(file string, data []byte, logf func(string, ...any)) []hostEntry {
	var entries []hostEntry
	for n, raw := range bytes.Split(data, []byte("\n")) {
		e, ok := parseHostLine(string(raw))
		if !ok {
			continue
		}
		e.file, e.line = file, n+1
		if e.key == nil || (strings.HasPrefix(e.hosts, "|") && e.salt == nil) {
			logf("%s:%d: parse error in hostkeys file", file, n+1)
			continue
		}
		entries = append(entries, e)
	}
	return entries
}

// parseHostLine splits one line. ok is false for comments and blank lines;
// a line ssh would reject comes back with a nil key.
func parseHostLine(line string) (e hostEntry, ok bool) {
	cp := strings.TrimLeft(line, " \t")
	if cp == "" || cp[0] == '#' {
		return e, false
	}
	var good bool
	if e.marker, cp, good = cutMarker(cp); !good {
		return e, true
	}
	end := strings.IndexAny(cp, " \t")
	if end < 0 {
		return e, true // truncated before the key type
	}
	e.hosts, cp = cp[:end], strings.TrimLeft(cp[end+1:], " \t")
	if cp == "" || cp[0] == '#' {
		return e, true
	}
	if strings.HasPrefix(e.hosts, "|") {
		e.hashPrefix, e.salt = hashSalt(e.hosts)
	}
	e.key = readKey(cp)
	return e, true
}

// cutMarker is hostfile.c's check_markers, quirks included: the marker
// ends at the line's first space (else its first tab), and only one
// marker is allowed.
func cutMarker(cp string) (marker, string, bool) {
	m := markNone
	for strings.HasPrefix(cp, "@") {
		if m != markNone {
			return m, cp, false
		}
		sp := strings.IndexByte(cp, ' ')
		if sp < 0 {
			sp = strings.IndexByte(cp, '\t')
		}
		if sp <= 1 || sp >= 32 {
			return m, cp, false
		}
		switch cp[:sp] {
		case "@cert-authority":
			m = markCA
		case "@revoked":
			m = markRevoked
		default:
			return m, cp, false
		}
		cp = strings.TrimLeft(cp[sp:], " \t")
	}
	return m, cp, true
}

// readKey is sshkey_read: a key type name, then the base64 blob, whose
// own type must agree with the name.
func readKey(s string) ssh.PublicKey {
	f := strings.Fields(s)
	if len(f) < 2 {
		return nil
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return nil
	}
	key, err := ssh.ParsePublicKey(blob)
	if err != nil || !typeNameFits(f[0], key.Type()) {
		return nil
	}
	return key
}

// typeNameFits says whether ssh accepts name as the type of a key whose
// blob says blobType: the exact name, or for RSA a signature algorithm.
func typeNameFits(name, blobType string) bool {
	if name == blobType {
		return true
	}
	return blobType == ssh.KeyAlgoRSA && (name == ssh.KeyAlgoRSASHA256 || name == ssh.KeyAlgoRSASHA512)
}

// hashSalt is hostfile.c's extract_salt: the salt must be base64 for
// exactly a SHA-1 length. A bad one yields nil and the line is skipped.
func hashSalt(hosts string) (prefix string, salt []byte) {
	if !strings.HasPrefix(hosts, hashMagic) {
		return "", nil
	}
	rest := hosts[len(hashMagic):]
	i := strings.IndexByte(rest, '|')
	if i <= 0 || i > 1024 {
		return "", nil
	}
	salt, err := base64.StdEncoding.DecodeString(rest[:i])
	if err != nil || len(salt) != sha1.Size {
		return "", nil
	}
	return hashMagic + rest[:i] + "|", salt
}

// matches is hostfile.c's match_maybe_hashed: a hashed name must be the
// exact hash of host; patterns follow match_hostname, where one negated
// pattern that matches makes the whole line not match.
func (e *hostEntry) matches(host string) bool {
	if e.salt != nil {
		mac := hmac.New(sha1.New, e.salt)
		mac.Write([]byte(host))
		want := e.hosts[len(e.hashPrefix):]
		return base64.StdEncoding.EncodeToString(mac.Sum(nil)) == want
	}
	return sshopt.MatchPatternList(sshopt.ASCIILower(host), e.hosts, true) == 1
}

// hashHost is host_hash with a fresh salt, for HashKnownHosts.
func hashHost(host string, salt []byte) string {
	mac := hmac.New(sha1.New, salt)
	mac.Write([]byte(host))
	return hashMagic + base64.StdEncoding.EncodeToString(salt) + "|" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
