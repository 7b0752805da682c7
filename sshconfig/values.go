package sshconfig

import (
	"slices"
	"strings"
	"time"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// parseDuration turns an already validated time value into a Duration; "none"
// and unset are zero.
func parseDuration(s string) time.Duration {
	if s == "" || s == "none" {
		return 0
	}
	if n := sshopt.Convtime(s); n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// validJump checks a ProxyJump list: comma-separated [user@]host[:port] or
// ssh://[user@]host[:port] destinations.
func validJump(s string) bool {
	if strings.EqualFold(s, "none") {
		return true
	}
	for _, d := range strings.Split(s, ",") {
		if _, _, _, ok := SplitDestination(d); !ok {
			return false
		}
	}
	return true
}

// SplitDestination parses [ssh://][user@]host[:port], as a ProxyJump hop is written.
func SplitDestination(d string) (user, host, port string, ok bool) {
	d = strings.TrimPrefix(d, "ssh://")
	if i := strings.LastIndexByte(d, '@'); i >= 0 {
		user, d = d[:i], d[i+1:]
	}
	host = d
	if strings.HasPrefix(d, "[") {
		end := strings.IndexByte(d, ']')
		if end < 0 {
			return "", "", "", false
		}
		host, d = d[1:end], d[end+1:]
		if d != "" && d[0] != ':' {
			return "", "", "", false
		}
		port = strings.TrimPrefix(d, ":")
	} else if i := strings.IndexByte(d, ':'); i >= 0 && strings.Count(d, ":") == 1 {
		host, port = d[:i], d[i+1:]
	}
	if host == "" || strings.ContainsAny(host, " \t/") {
		return "", "", "", false
	}
	if port != "" && sshopt.A2port(port) <= 0 {
		return "", "", "", false
	}
	return user, host, port, true
}

// stringCheck validates the few single-word keywords whose bad values the
// project could trip over; it returns ssh's complaint or "".
func stringCheck(name, arg string) string {
	switch name {
	case "loglevel":
		if sshopt.LogLevelIndex(arg) >= 0 {
			return ""
		}
		return "unsupported log level '" + arg + "'"
	case "escapechar":
		if sshopt.EscapeValid(arg) {
			return ""
		}
		return "Bad escape character."
	case "fingerprinthash":
		if slices.Contains(sshopt.FingerprintHashes, sshopt.ASCIILower(arg)) {
			return ""
		}
		return "Invalid hash algorithm \"" + arg + "\"."
	}
	return ""
}
