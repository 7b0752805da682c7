package sshdial

import (
	"bytes"

	"golang.org/x/crypto/ssh"
)

// hostStatus is hostfile.h's HostStatus.
type hostStatus int

const (
	hostOK hostStatus = iota
	hostNew
	hostChanged
	hostRevoked
)

// checkKeyInHostkeys is hostfile.c's check_hostkeys_by_key_or_type for a
// key. A certificate is looked for among the @cert-authority entries by its
// signing key; a plain key among the plain entries, where any other key,
// whatever its type, means "changed" and the last such entry is the one
// reported. A revoked key, or a certificate by a revoked CA, is revoked
// whatever else matched.
func checkKeyInHostkeys(entries []*hostEntry, key ssh.PublicKey) (hostStatus, *hostEntry) {
	cert, isCert := key.(*ssh.Certificate)
	want := markNone
	if isCert {
		want = markCA
	}
	status, found := hostNew, (*hostEntry)(nil)
	for _, e := range entries {
		if e.marker != want {
			continue
		}
		if isCert {
			if equalPublic(cert.SignatureKey, e.key) {
				status, found = hostOK, e
				break
			}
			continue
		}
		if sameKey(key, e.key) {
			status, found = hostOK, e
			break
		}
		status, found = hostChanged, e
	}
	if revoked(entries, key) {
		return hostRevoked, nil
	}
	return status, found
}

// revoked is check_key_not_revoked: a @revoked entry holds the key (a
// certificate's own key counts) or the CA that signed it.
func revoked(entries []*hostEntry, key ssh.PublicKey) bool {
	cert, isCert := key.(*ssh.Certificate)
	for _, e := range entries {
		if e.marker != markRevoked {
			continue
		}
		if equalPublic(key, e.key) || (isCert && equalPublic(cert.SignatureKey, e.key)) {
			return true
		}
	}
	return false
}

// hasPlainKeyOfType is lookup_key_in_hostkeys_by_type: the first plain
// entry of that key type, provided it is not revoked.
func hasPlainKeyOfType(entries []*hostEntry, keyType string) bool {
	for _, e := range entries {
		if e.marker == markNone && e.key.Type() == keyType {
			return !revoked(entries, e.key)
		}
	}
	return false
}

// hasMarker is lookup_marker_in_hostkeys.
func hasMarker(entries []*hostEntry, m marker) bool {
	for _, e := range entries {
		if e.marker == m {
			return true
		}
	}
	return false
}

// sameKey is sshkey_equal: same type and same key material.
func sameKey(a, b ssh.PublicKey) bool {
	return a.Type() == b.Type() && bytes.Equal(a.Marshal(), b.Marshal())
}

// equalPublic is sshkey_equal_public: the key material, certificates
// compared by the key they certify.
func equalPublic(a, b ssh.PublicKey) bool {
	return bytes.Equal(plainKey(a).Marshal(), plainKey(b).Marshal())
}

// plainKey is the key a certificate certifies, or key itself.
func plainKey(key ssh.PublicKey) ssh.PublicKey {
	if c, ok := key.(*ssh.Certificate); ok {
		return c.Key
	}
	return key
}
