package sshconfig

import (
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// convtime parses ssh's time format ("90", "1m30s", "2h"), returning
// seconds or -1, like misc.c:convtime.
func convtime(s string) int64 {
	if s == "" {
		return -1
	}
	var total int64
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return -1
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n > math.MaxInt32 {
			return -1
		}
		s = s[i:]
		mult := int64(1)
		if s != "" {
			switch s[0] {
			case 's', 'S':
			case 'm', 'M':
				mult = 60
			case 'h', 'H':
				mult = 3600
			case 'd', 'D':
				mult = 86400
			case 'w', 'W':
				mult = 7 * 86400
			default:
				return -1
			}
			s = s[1:]
		}
		total += n * mult
		if total > math.MaxInt32 {
			return -1
		}
	}
	return total
}

// parseDuration turns an already validated time value into a Duration; "none"
// and unset are zero.
func parseDuration(s string) time.Duration {
	if s == "" || s == "none" {
		return 0
	}
	if n := convtime(s); n > 0 {
		return time.Duration(n) * time.Second
	}
	return 0
}

// atoiErr mirrors misc.c:atoi_err, returning ssh's wording for a bad
// non-negative int.
func atoiErr(s string) (int, string) {
	if s == "" {
		return 0, "missing"
	}
	n, err := strconv.ParseInt(strings.TrimLeft(s, " \t"), 10, 64)
	switch {
	case err != nil && strings.Contains(err.Error(), "range") && strings.HasPrefix(s, "-"):
		return 0, "too small"
	case err != nil && strings.Contains(err.Error(), "range"):
		return 0, "too large"
	case err != nil:
		return 0, "invalid"
	case n < 0:
		return 0, "too small"
	case n > math.MaxInt32:
		return 0, "too large"
	}
	return int(n), ""
}

// a2port accepts a number 0..65535 or a service name, returning -1 when
// neither; callers treat 0 as invalid too.
func a2port(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 65535 {
			return -1
		}
		return n
	}
	if s == "" || strings.ContainsAny(s, " \t") {
		return -1
	}
	if p, err := net.LookupPort("tcp", s); err == nil {
		return p
	}
	return -1
}

type fwdField struct {
	arg    string
	isPath bool
}

// fwdFields splits a forwarding spec on ':' honouring [brackets] and
// backslash escapes, as readconf.c:parse_fwd_field does.
func fwdFields(spec string) ([]fwdField, bool) {
	var out []fwdField
	s := strings.TrimLeft(spec, " \t")
	for s != "" {
		if len(out) == 4 {
			return nil, false
		}
		if s[0] == '[' {
			end := strings.IndexByte(s, ']')
			if end < 0 || (end+1 < len(s) && s[end+1] != ':') {
				return nil, false
			}
			out = append(out, fwdField{arg: s[1:end], isPath: strings.Contains(s[1:end], "/")})
			s = s[min(end+2, len(s)):]
			continue
		}
		var b strings.Builder
		f := fwdField{}
		i := 0
		for ; i < len(s) && s[i] != ':'; i++ {
			if s[i] == '\\' {
				i++
				if i == len(s) {
					return nil, false
				}
			} else if s[i] == '/' {
				f.isPath = true
			}
			b.WriteByte(s[i])
		}
		f.arg = b.String()
		out = append(out, f)
		s = s[min(i+1, len(s)):]
	}
	return out, true
}

// validForward reports whether spec is a forwarding specification ssh
// accepts (readconf.c:parse_forward).
func validForward(spec string, dynamic, remote bool) bool {
	f, ok := fwdFields(spec)
	if !ok {
		return false
	}
	listenPort, connectPort := -1, -1
	listenPath, connectPath := false, false
	switch len(f) {
	case 1:
		if listenPath = f[0].isPath; !listenPath {
			listenPort = a2port(f[0].arg)
		}
	case 2:
		switch {
		case f[0].isPath && f[1].isPath:
			listenPath, connectPath = true, true
		case f[1].isPath:
			listenPort, connectPath = a2port(f[0].arg), true
		default:
			listenPort = a2port(f[1].arg)
		}
	case 3:
		switch {
		case f[0].isPath:
			listenPath, connectPort = true, a2port(f[2].arg)
		case f[2].isPath:
			listenPort, connectPath = a2port(f[1].arg), true
		default:
			listenPort, connectPort = a2port(f[0].arg), a2port(f[2].arg)
		}
	case 4:
		listenPort, connectPort = a2port(f[1].arg), a2port(f[3].arg)
	default:
		return false
	}
	if dynamic {
		if len(f) > 2 {
			return false
		}
	} else {
		if len(f) < 3 && !listenPath && !connectPath {
			return false
		}
		if connectPort <= 0 && !connectPath {
			return false
		}
	}
	if listenPort < 0 && !listenPath {
		return false
	}
	return remote || listenPath || listenPort != 0
}

// validJump checks a ProxyJump list: comma-separated [user@]host[:port] or
// ssh://[user@]host[:port] destinations.
func validJump(s string) bool {
	if strings.EqualFold(s, "none") {
		return true
	}
	for _, d := range strings.Split(s, ",") {
		if _, _, _, ok := splitDestination(d); !ok {
			return false
		}
	}
	return true
}

// splitDestination parses [ssh://][user@]host[:port].
func splitDestination(d string) (user, host, port string, ok bool) {
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
	if port != "" && a2port(port) <= 0 {
		return "", "", "", false
	}
	return user, host, port, true
}

var logLevels = []string{"quiet", "fatal", "error", "info", "verbose", "debug", "debug1", "debug2", "debug3"}

// stringCheck validates the few single-word keywords whose bad values the
// project could trip over; it returns ssh's complaint or "".
func stringCheck(name, arg string) string {
	switch name {
	case "loglevel":
		for _, l := range logLevels {
			if strings.EqualFold(arg, l) {
				return ""
			}
		}
		return "unsupported log level '" + arg + "'"
	case "escapechar":
		if arg == "none" || len(arg) == 1 || (len(arg) == 2 && arg[0] == '^' && arg[1] >= 64 && arg[1] < 128) {
			return ""
		}
		return "Bad escape character."
	case "fingerprinthash":
		if strings.EqualFold(arg, "md5") || strings.EqualFold(arg, "sha256") {
			return ""
		}
		return "Invalid hash algorithm \"" + arg + "\"."
	}
	return ""
}
