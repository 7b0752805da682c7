package flagparse

import (
	"strconv"
	"strings"
)

// forward is misc.c's struct Forward; port -2 (PORT_STREAMLOCAL) marks a
// Unix socket path.
type forward struct {
	hasListenHost            bool // listen_host is non-NULL, maybe ""
	listenHost, listenPath   string
	listenPort               int
	connectHost, connectPath string
	connectPort              int
}

const (
	portStreamLocal = -2
	niMaxHost       = 1025
	pathMaxSun      = 108
)

type fwdField struct {
	arg    string
	isPath bool
}

// parseForward is readconf.c's parse_forward. It returns the forward in
// the form "ssh -G" prints (which ssh_config accepts again), except that a
// dynamic remote forward is just its listen address. ${VAR} is not
// expanded: the parser reads no environment.
func parseForward(spec string, dynamic, remote bool) (string, bool) {
	fw, ok := parseForwardSpec(spec, dynamic, remote)
	if !ok {
		return "", false
	}
	return fw.String(dynamic), true
}

func parseForwardSpec(spec string, dynamic, remote bool) (forward, bool) {
	cp := strings.TrimLeft(spec, " \t\n\v\f\r")
	var f [4]fwdField
	n := 0
	for n < 4 {
		var ok bool
		if f[n], cp, ok = parseFwdField(cp); !ok {
			break
		}
		n++
	}
	if cp != "" {
		n = 0
	}
	fw, ok := buildForward(f, n)
	if !ok || !forwardOK(fw, n, dynamic, remote) {
		return forward{}, false
	}
	return fw, true
}

func buildForward(f [4]fwdField, n int) (forward, bool) {
	var fw forward
	switch n {
	case 1:
		if f[0].isPath {
			fw.listenPath, fw.listenPort = f[0].arg, portStreamLocal
		} else {
			fw.listenPort = a2port(f[0].arg)
		}
		fw.connectHost = "socks"
	case 2:
		switch {
		case f[0].isPath && f[1].isPath:
			fw.listenPath, fw.listenPort = f[0].arg, portStreamLocal
			fw.connectPath, fw.connectPort = f[1].arg, portStreamLocal
		case f[1].isPath:
			fw.listenPort = a2port(f[0].arg)
			fw.connectPath, fw.connectPort = f[1].arg, portStreamLocal
		default:
			fw.listenHost, fw.listenPort = f[0].arg, a2port(f[1].arg)
			fw.hasListenHost = true
			fw.connectHost = "socks"
		}
	case 3:
		switch {
		case f[0].isPath:
			fw.listenPath, fw.listenPort = f[0].arg, portStreamLocal
			fw.connectHost, fw.connectPort = f[1].arg, a2port(f[2].arg)
		case f[2].isPath:
			fw.listenHost, fw.listenPort = f[0].arg, a2port(f[1].arg)
			fw.hasListenHost = true
			fw.connectPath, fw.connectPort = f[2].arg, portStreamLocal
		default:
			fw.listenPort = a2port(f[0].arg)
			fw.connectHost, fw.connectPort = f[1].arg, a2port(f[2].arg)
		}
	case 4:
		fw.listenHost, fw.listenPort = f[0].arg, a2port(f[1].arg)
		fw.hasListenHost = true
		fw.connectHost, fw.connectPort = f[2].arg, a2port(f[3].arg)
	default:
		return fw, false
	}
	return fw, true
}

func forwardOK(fw forward, n int, dynamic, remote bool) bool {
	if dynamic {
		if n != 1 && n != 2 {
			return false
		}
	} else {
		if n != 3 && n != 4 && fw.connectPath == "" && fw.listenPath == "" {
			return false
		}
		if fw.connectPort <= 0 && fw.connectPath == "" {
			return false
		}
	}
	if fw.listenPort < 0 && fw.listenPath == "" || !remote && fw.listenPort == 0 {
		return false
	}
	return len(fw.connectHost) < niMaxHost && len(fw.listenHost) < niMaxHost &&
		len(fw.connectPath) < pathMaxSun && len(fw.listenPath) < pathMaxSun
}

// parseFwdField is misc.c's parse_fwd_field: a field ends at ':', may be
// "[bracketed]" literally, and '\' escapes the next character.
func parseFwdField(s string) (fwdField, string, bool) {
	if s == "" {
		return fwdField{}, "", false
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 || end+1 < len(s) && s[end+1] != ':' {
			return fwdField{}, s, false
		}
		arg := s[1:end]
		rest := s[end+1:]
		if rest != "" {
			rest = rest[1:]
		}
		return fwdField{arg: arg, isPath: strings.Contains(arg, "/")}, rest, true
	}
	var b strings.Builder
	isPath := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) {
				return fwdField{}, s, false
			}
			i++
			b.WriteByte(s[i])
		case '/':
			isPath = true
			b.WriteByte(c)
		case ':':
			return fwdField{arg: b.String(), isPath: isPath}, s[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return fwdField{arg: b.String(), isPath: isPath}, "", true
}

// String formats fw as readconf.c's dump_cfg_forwards does.
func (fw forward) String(listenOnly bool) string {
	s := fwdAddr(fw.listenHost, fw.listenPath, fw.listenPort)
	if listenOnly {
		return s
	}
	return s + " " + fwdAddr(fw.connectHost, fw.connectPath, fw.connectPort)
}

func fwdAddr(host, path string, port int) string {
	switch {
	case port == portStreamLocal:
		return path
	case host == "":
		// ssh -G prints "[]:port" for an empty bind address; a bare port
		// means the same to parse_forward.
		return strconv.Itoa(port)
	}
	return "[" + host + "]:" + strconv.Itoa(port)
}
