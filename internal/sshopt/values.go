package sshopt

import (
	"math"
	"strings"
)

// A2port is misc.c's a2port: a decimal 0..65535 or a tcp service name;
// -1 when neither. Callers treat 0 as invalid where ssh does.
func A2port(s string) int {
	if n, ok := Strtonum(s, 0, 65535); ok {
		return int(n)
	}
	if p, ok := tcpServices[s]; ok {
		return p
	}
	return -1
}

// Strtonum is OpenBSD's strtonum: optional leading space and sign,
// decimal digits, nothing after, within [lo, hi].
func Strtonum(s string, lo, hi int64) (int64, bool) {
	v, rest, ok := Strtol(s, 10)
	if !ok || rest != "" || v < lo || v > hi {
		return 0, false
	}
	return v, true
}

// Strtol is C's strtol for base 8 or 10: it returns the value, the
// unparsed rest, and false when no digit was read or the value overflows.
func Strtol(s string, base int) (int64, string, bool) {
	i := 0
	for i < len(s) && IsSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	// The magnitude may reach 1<<63 when negative: strtol takes LONG_MIN.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var u uint64
	over := false
	for ; i < len(s) && '0' <= s[i] && s[i] < '0'+byte(base); i++ {
		d := uint64(s[i] - '0')
		if u > (limit-d)/uint64(base) {
			over = true
		} else {
			u = u*uint64(base) + d
		}
	}
	if i == start {
		return 0, s, false
	}
	v := int64(u)
	if neg {
		v = -v // -(1<<63) wraps to itself, which is the value
	}
	return v, s[i:], !over
}

// IsSpace is C's isspace in the C locale.
func IsSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// Convtime is misc.c's convtime: sums of numbers (strtol: leading space
// and sign allowed) with optional s/m/h/d/w suffixes, at most INT_MAX
// seconds; -1 when invalid.
func Convtime(s string) int64 {
	if s == "" {
		return -1
	}
	var total int64
	for s != "" {
		secs, rest, ok := Strtol(s, 10)
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

// AtoiErr is misc.c's atoi_err: the value of a decimal 0..INT_MAX, or
// strtonum's complaint ("missing", "invalid", "too small", "too large").
func AtoiErr(a string) (int, string) {
	if a == "" {
		return 0, "missing"
	}
	v, rest, ok := Strtol(a, 10)
	switch {
	case rest == a || rest != "":
		return 0, "invalid"
	case !ok:
		if strings.HasPrefix(strings.TrimLeft(a, " \t\n\v\f\r"), "-") {
			return 0, "too small"
		}
		return 0, "too large"
	case v < 0:
		return 0, "too small"
	case v > math.MaxInt32:
		return 0, "too large"
	}
	return int(v), ""
}

// EscapeValid accepts what ssh.c's -e and readconf's EscapeChar accept:
// one character, "^X" for a control character, or "none".
func EscapeValid(s string) bool {
	return len(s) == 1 || s == "none" || len(s) == 2 && s[0] == '^' && s[1] >= 64 && s[1] < 128
}

// TunValid is misc.c's a2tun for "local[:remote]", each a number or "any".
func TunValid(s string) bool {
	one := func(t string) bool {
		if strings.EqualFold(t, "any") {
			return true
		}
		_, ok := Strtonum(t, 0, math.MaxInt32-1)
		return ok
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return one(s[:i]) && one(s[i+1:])
	}
	return one(s)
}

// LogLevels are ssh's log levels in increasing verbosity.
var LogLevels = []string{"quiet", "fatal", "error", "info", "verbose", "debug1", "debug2", "debug3"}

// LogLevelIndex is log.c's log_level_number as an index into LogLevels
// (any case, "debug" is debug1); -1 when unknown.
func LogLevelIndex(s string) int {
	s = ASCIILower(s)
	if s == "debug" {
		s = "debug1"
	}
	for i, l := range LogLevels {
		if l == s {
			return i
		}
	}
	return -1
}

// LogFacilities are the SyslogFacility names (lowercase; ssh accepts any case).
var LogFacilities = []string{"daemon", "user", "auth", "authpriv",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// FingerprintHashes are the FingerprintHash names (lowercase; ssh accepts
// any case): the digests ssh_digest_alg_by_name knows.
var FingerprintHashes = []string{"md5", "sha1", "sha256", "sha384", "sha512"}
