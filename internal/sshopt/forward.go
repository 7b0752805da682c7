package sshopt

import (
	"strconv"
	"strings"
)

// Forward is misc.c's struct Forward; port -2 (PORT_STREAMLOCAL) marks a
// Unix socket path.
type Forward struct {
	HasListenHost            bool // listen_host is non-NULL, maybe ""
	ListenHost, ListenPath   string
	ListenPort               int
	ConnectHost, ConnectPath string
	ConnectPort              int
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

// ParseForward is readconf.c's parse_forward. It returns the forward in
// the form "ssh -G" prints (which ssh_config accepts again), except that a
// dynamic remote forward is just its listen address. ${VAR} is not
// expanded: the parser reads no environment.
func ParseForward(spec string, dynamic, remote bool) (string, bool) {
	fw, ok := ParseForwardSpec(spec, dynamic, remote)
	if !ok {
		return "", false
	}
	return fw.String(dynamic), true
}

// ParseForwardSpec is ParseForward returning the parsed fields.
func ParseForwardSpec(spec string, dynamic, remote bool) (Forward, bool) {
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
		return Forward{}, false
	}
	return fw, true
}

func buildForward(f [4]fwdField, n int) (Forward, bool) {
	var fw Forward
	switch n {
	case 1:
		if f[0].isPath {
			fw.ListenPath, fw.ListenPort = f[0].arg, portStreamLocal
		} else {
			fw.ListenPort = A2port(f[0].arg)
		}
		fw.ConnectHost = "socks"
	case 2:
		switch {
		case f[0].isPath && f[1].isPath:
			fw.ListenPath, fw.ListenPort = f[0].arg, portStreamLocal
			fw.ConnectPath, fw.ConnectPort = f[1].arg, portStreamLocal
		case f[1].isPath:
			fw.ListenPort = A2port(f[0].arg)
			fw.ConnectPath, fw.ConnectPort = f[1].arg, portStreamLocal
		default:
			fw.ListenHost, fw.ListenPort = f[0].arg, A2port(f[1].arg)
			fw.HasListenHost = true
			fw.ConnectHost = "socks"
		}
	case 3:
		switch {
		case f[0].isPath:
			fw.ListenPath, fw.ListenPort = f[0].arg, portStreamLocal
			fw.ConnectHost, fw.ConnectPort = f[1].arg, A2port(f[2].arg)
		case f[2].isPath:
			fw.ListenHost, fw.ListenPort = f[0].arg, A2port(f[1].arg)
			fw.HasListenHost = true
			fw.ConnectPath, fw.ConnectPort = f[2].arg, portStreamLocal
		default:
			fw.ListenPort = A2port(f[0].arg)
			fw.ConnectHost, fw.ConnectPort = f[1].arg, A2port(f[2].arg)
		}
	case 4:
		fw.ListenHost, fw.ListenPort = f[0].arg, A2port(f[1].arg)
		fw.HasListenHost = true
		fw.ConnectHost, fw.ConnectPort = f[2].arg, A2port(f[3].arg)
	default:
		return fw, false
	}
	return fw, true
}

func forwardOK(fw Forward, n int, dynamic, remote bool) bool {
	if dynamic {
		if n != 1 && n != 2 {
			return false
		}
	} else {
		if n != 3 && n != 4 && fw.ConnectPath == "" && fw.ListenPath == "" {
			return false
		}
		if fw.ConnectPort <= 0 && fw.ConnectPath == "" {
			return false
		}
	}
	if fw.ListenPort < 0 && fw.ListenPath == "" || !remote && fw.ListenPort == 0 {
		return false
	}
	return len(fw.ConnectHost) < niMaxHost && len(fw.ListenHost) < niMaxHost &&
		len(fw.ConnectPath) < pathMaxSun && len(fw.ListenPath) < pathMaxSun
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
func (fw Forward) String(listenOnly bool) string {
	s := fwdAddr(fw.ListenHost, fw.ListenPath, fw.ListenPort)
	if fw.HasListenHost && fw.ListenHost == "" && fw.ListenPort != portStreamLocal {
		// "-L :8080:h:80" binds every address, unlike "-L 8080:h:80": keep them apart, as -G does.
		s = "[]:" + strconv.Itoa(fw.ListenPort)
	}
	if listenOnly {
		return s
	}
	if fw.ConnectPort == portStreamLocal {
		return s + " " + fw.ConnectPath
	}
	// ssh's connect_host is never NULL for a TCP target, so an empty one prints as "[]"
	// ("-L 8080::80"); a bare port would read back as a listen address.
	return s + " [" + fw.ConnectHost + "]:" + strconv.Itoa(fw.ConnectPort)
}

// fwdAddr formats a listen address: a bare port when no bind host was given.
func fwdAddr(host, path string, port int) string {
	switch {
	case port == portStreamLocal:
		return path
	case host == "":
		return strconv.Itoa(port)
	}
	return "[" + host + "]:" + strconv.Itoa(port)
}
