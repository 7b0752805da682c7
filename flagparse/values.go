package flagparse

import (
	"math"
	"strings"
)

// a2port is misc.c's a2port: a decimal 0..65535 or a tcp service name;
// -1 when neither.
func a2port(s string) int {
	if n, ok := strtonum(s, 0, 65535); ok {
		return int(n)
	}
	if p, ok := tcpServices[s]; ok {
		return p
	}
	return -1
}

// strtonum is OpenBSD's strtonum: optional leading space and sign, decimal
// digits, nothing after, within [lo, hi].
func strtonum(s string, lo, hi int64) (int64, bool) {
	v, rest, ok := strtol(s, 10)
	if !ok || rest != "" || v < lo || v > hi {
		return 0, false
	}
	return v, true
}

// strtol is C's strtol for base 8 or 10: it returns the value, the
// unparsed rest, and false when no digit was read or the value overflows.
func strtol(s string, base int) (int64, string, bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v int64
	over := false
	for ; i < len(s) && '0' <= s[i] && s[i] < '0'+byte(base); i++ {
		d := int64(s[i] - '0')
		if v > (math.MaxInt64-d)/int64(base) {
			over = true
		} else {
			v = v*int64(base) + d
		}
	}
	if i == start {
		return 0, s, false
	}
	if neg {
		v = -v
	}
	return v, s[i:], !over
}

// convtime is misc.c's convtime: sums of numbers with optional s/m/h/d/w
// suffixes, at most INT_MAX seconds; -1 when invalid.
func convtime(s string) int64 {
	if s == "" {
		return -1
	}
	var total int64
	for s != "" {
		secs, rest, ok := strtol(s, 10)
		if !ok || secs < 0 || secs > math.MaxInt32 {
			return -1
		}
		mult := int64(1)
		if rest != "" {
			switch rest[0] {
			case 's', 'S':
			case 'm', 'M':
				mult = 60
			case 'h', 'H':
				mult = 3600
			case 'd', 'D':
				mult = 86400
			case 'w', 'W':
				mult = 604800
			default:
				return -1
			}
			rest = rest[1:]
		}
		if secs > math.MaxInt32/mult {
			return -1
		}
		total += secs * mult
		if total > math.MaxInt32 {
			return -1
		}
		s = rest
	}
	return total
}

// escapeValid accepts what ssh.c's -e and readconf's EscapeChar accept:
// one character, "^X" for a control character, or "none".
func escapeValid(s string) bool {
	return len(s) == 1 || s == "none" || len(s) == 2 && s[0] == '^' && s[1] >= 64 && s[1] < 128
}

// tunValid is misc.c's a2tun for "local[:remote]", each a number or "any".
func tunValid(s string) bool {
	one := func(t string) bool {
		if strings.EqualFold(t, "any") {
			return true
		}
		_, ok := strtonum(t, 0, math.MaxInt32-1)
		return ok
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return one(s[:i]) && one(s[i+1:])
	}
	return one(s)
}

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
			if matchPatternList(kt, name, false) != 0 {
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

// logLevels are ssh's levels in increasing verbosity.
var logLevels = []string{"quiet", "fatal", "error", "info", "verbose", "debug1", "debug2", "debug3"}

func logLevelIndex(s string) int {
	s = strings.ToLower(s)
	if s == "debug" {
		s = "debug1"
	}
	for i, l := range logLevels {
		if l == s {
			return i
		}
	}
	return -1
}

var logFacilities = []string{"daemon", "user", "auth", "authpriv",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
