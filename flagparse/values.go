package flagparse

import (
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// namesValid checks a comma-separated algorithm list as cipher.c's
// ciphers_valid and mac.c's mac_valid do: an empty list is invalid and
// the check stops at the first empty name. It returns the first unknown
// name, if any.
func namesValid(list string, known []string) (bad string, ok bool) {
	if list == "" {
		return "", false
	}
	for _, name := range strings.Split(list, ",") {
		if name == "" {
			return "", true
		}
		if !contains(known, name) {
			return name, false
		}
	}
	return "", true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func ciphersValid(s string) bool { _, ok := namesValid(s, ciphers); return ok }

func macsValid(s string) bool { _, ok := namesValid(s, macs); return ok }

// keyTypesValid is sshkey.c's sshkey_names_valid2 with wildcards allowed:
// a name is a known key or signature type, or a pattern matching one.
func keyTypesValid(list string) bool {
	if list == "" {
		return false
	}
	for _, name := range strings.Split(list, ",") {
		if name == "" {
			return true
		}
		if contains(keyTypes, name) {
			continue
		}
		matched := false
		for _, kt := range keyTypes {
			if sshopt.MatchPatternList(kt, name, false) != 0 {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

// gssKexValid is Debian's kex_gss_names_valid: each name starts with a
// GSSAPI key exchange prefix.
func gssKexValid(list string) (bad string, ok bool) {
	if list == "" {
		return "", false
	}
	for _, name := range strings.Split(list, ",") {
		if name == "" {
			return "", true
		}
		found := false
		for _, p := range gssKex {
			if strings.HasPrefix(name, p) {
				found = true
				break
			}
		}
		if !found {
			return name, false
		}
	}
	return "", true
}
