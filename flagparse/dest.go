package flagparse

import (
	"strconv"
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// destination takes ssh's destination argument: an ssh:// URI, else
// [user@]host split at the last '@'. The first user and port win.
func (p *parser) destination(arg string) *Error {
	user, host, port, r := parseSSHURI(arg)
	switch r {
	case uriBad:
		return usageErr("")
	case uriOK:
		if user != "" {
			p.cfg.setFirst("user", user)
		}
		if port > 0 {
			p.cfg.setFirst("port", strconv.Itoa(port))
		}
	default:
		host = arg
		if i := strings.LastIndexByte(arg, '@'); i >= 0 {
			if i == 0 {
				return usageErr("")
			}
			p.cfg.setFirst("user", arg[:i])
			host = arg[i+1:]
		}
		// ssh keeps the brackets here; callers want a dialable host.
		host = cleanHostname(host)
	}
	p.o.Host = host
	p.hostSet = true
	return nil
}

type uriResult int

const (
	uriNotURI uriResult = iota
	uriOK
	uriBad
)

// parseSSHURI is misc.c's parse_ssh_uri: a path is not allowed.
func parseSSHURI(s string) (user, host string, port int, r uriResult) {
	user, host, port, path, r := parseURI(s)
	if r == uriOK && path {
		return "", "", 0, uriBad
	}
	return user, host, port, r
}

// parseURI is misc.c's parse_uri for the "ssh" scheme.
func parseURI(s string) (user, host string, port int, hasPath bool, r uriResult) {
	const scheme = "ssh://"
	if !strings.HasPrefix(s, scheme) {
		return "", "", 0, false, uriNotURI
	}
	rest := s[len(scheme):]
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		info := rest[:i]
		if j := strings.IndexByte(info, ';'); j >= 0 {
			info = info[:j] // connection parameters are ignored
		}
		if info == "" {
			return "", "", 0, false, uriBad
		}
		u, ok := urlDecode(info)
		if !ok {
			return "", "", 0, false, uriBad
		}
		user, rest = u, rest[i+1:]
	}
	h, delim, tail, ok := hpdelim2(rest)
	if !ok || h == "" {
		return "", "", 0, false, uriBad
	}
	host, ok = validDomain(cleanHostname(h))
	if !ok {
		return "", "", 0, false, uriBad
	}
	port = -1
	if tail != "" {
		if delim == ':' {
			portStr := tail
			tail = ""
			if j := strings.IndexByte(portStr, '/'); j >= 0 {
				portStr, tail = portStr[:j], portStr[j+1:]
			}
			if port = sshopt.A2port(portStr); port <= 0 {
				return "", "", 0, false, uriBad
			}
		}
		if tail != "" {
			if _, ok := urlDecode(tail); !ok {
				return "", "", 0, false, uriBad
			}
			hasPath = true
		}
	}
	return user, host, port, hasPath, uriOK
}

// urlDecode is misc.c's urldecode; %00 is refused as it would truncate.
func urlDecode(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 >= len(s) || !isXDigit(s[i+1]) || !isXDigit(s[i+2]) {
				return "", false
			}
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if v == 0 {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func isXDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// hpdelim2 is misc.c's hpdelim2: split "host[:/]rest", where host may be
// "[bracketed]". ok is false for an unterminated or misplaced bracket.
func hpdelim2(s string) (field string, delim byte, rest string, ok bool) {
	end := 0
	if strings.HasPrefix(s, "[") {
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return "", 0, "", false
		}
		end = j + 1
	} else if j := strings.IndexAny(s, ":/"); j >= 0 {
		end = j
	} else {
		end = len(s)
	}
	if end == len(s) {
		return s, 0, "", true
	}
	switch s[end] {
	case ':', '/':
		return s[:end], s[end], s[end+1:], true
	}
	return "", 0, "", false
}

// cleanHostname strips the brackets of "[addr]".
func cleanHostname(h string) string {
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// validDomain is misc.c's valid_domain; it drops one trailing dot.
func validDomain(name string) (string, bool) {
	if name == "" || !isAlnum(name[0]) {
		return "", false
	}
	var last byte
	for i := 0; i < len(name); i++ {
		c := toLower(name[i])
		if last == '.' && c == '.' {
			return "", false
		}
		if c != '.' && c != '-' && c != '_' && !isAlnum(c) {
			return "", false
		}
		last = c
	}
	return strings.TrimSuffix(name, "."), true
}

// validHostname is ssh.c's valid_hostname (OpenSSH 9.6, backported by
// Debian to 9.2): no leading '-', no shell metacharacters or ',', no
// space or control characters.
func validHostname(s string) bool {
	if strings.HasPrefix(s, "-") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte("'`\"$\\;&<>|(){},", s[i]) >= 0 || sshopt.IsSpace(s[i]) || isCntrl(s[i]) {
			return false
		}
	}
	return true
}

// validRuser is ssh.c's valid_ruser as Debian's 9.2 behaves (measured
// against the binary): an empty user is accepted; a leading '-', shell
// metacharacters, control characters other than newline, sshopt.Whitespace
// before '-' and a trailing '\' are refused.
func validRuser(s string) bool {
	if strings.HasPrefix(s, "-") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte("'`\";&<>|(){}", c) >= 0,
			isCntrl(c) && c != '\n',
			sshopt.IsSpace(c) && i+1 < len(s) && s[i+1] == '-',
			c == '\\' && i+1 == len(s):
			return false
		}
	}
	return true
}

// userHostPort is misc.c's parse_user_host_port.
func userHostPort(s string) (user, host string, ok bool) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		if i == 0 {
			return "", "", false
		}
		user, s = s[:i], s[i+1:]
	}
	h, _, rest, ok := hpdelim2(s)
	if !ok || h == "" {
		return "", "", false
	}
	if rest != "" && sshopt.A2port(rest) <= 0 {
		return "", "", false
	}
	return user, cleanHostname(h), true
}

// jumpSpec is the part of a -J or ProxyJump value that parse_jump
// reads: up to the first sshopt.Whitespace or '#'.
func jumpSpec(s string) string {
	if i := strings.IndexAny(s, " \t\n\v\f\r#"); i >= 0 {
		return s[:i]
	}
	return s
}

// checkJump is readconf.c's parse_jump without its side effects, given a
// jumpSpec: every comma-separated hop, last first, is an ssh:// URI or
// [user@]host[:port] with a valid user and host name. msg is what ssh
// logs before its own error line.
func checkJump(s string) (msg string, ok bool) {
	if strings.EqualFold(s, "none") {
		return "", true
	}
	for {
		hop := s
		i := strings.LastIndexByte(s, ',')
		if i >= 0 {
			hop, s = s[i+1:], s[:i]
		}
		user, host, _, r := parseSSHURI(hop)
		if r == uriNotURI {
			user, host, ok = userHostPort(hop)
			if !ok {
				r = uriBad
			}
		}
		switch {
		case r == uriBad:
			return "", false
		case !validRuser(user):
			return "parse_jump: invalid username \"" + user + "\"\n", false
		case !validHostname(host):
			return "parse_jump: invalid hostname \"" + host + "\"\n", false
		}
		if i < 0 {
			return "", true
		}
	}
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isCntrl(c byte) bool { return c < 0x20 || c == 0x7f }

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
