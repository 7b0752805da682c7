package sshconfig

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// dumpEscape is how ssh -G prints EscapeChar: "none", else the character through vis(3) with
// VIS_WHITE ("\^A" for -e ^A, "\040" for a space, "\\" for a backslash).
func dumpEscape(v string) string {
	switch {
	case v == "":
		return "~"
	case strings.EqualFold(v, "none"):
		return "none"
	case len(v) == 2 && v[0] == '^':
		return visByte(v[1] & 31) // ssh.c and readconf.c: (u_char)arg[1] & 31
	}
	return visByte(v[0])
}

// visByte is OpenBSD's vis(3) of one byte with VIS_WHITE and no other flag.
func visByte(c byte) string {
	switch {
	case c == '\\':
		return `\\`
	case c > ' ' && c < 0x7f:
		return string(c)
	case c&0x7f == ' ':
		return fmt.Sprintf(`\%03o`, c)
	}
	prefix := `\`
	if c&0x80 != 0 {
		prefix, c = `\M-`, c&0x7f
		if c > ' ' && c < 0x7f {
			return prefix + string(c)
		}
	}
	if c == 0x7f {
		return prefix + "^?"
	}
	return prefix + "^" + string(c+'@')
}

// dumpTunDev is dump_cfg_tundev's "local:remote", "any" for SSH_TUNID_ANY.
func dumpTunDev(v string) string {
	if v == "" {
		return "any:any"
	}
	one := func(s string) string {
		if strings.EqualFold(s, "any") || s == "" {
			return "any"
		}
		if n, ok := sshopt.Strtonum(s, 0, 1<<31-2); ok {
			return strconv.FormatInt(n, 10)
		}
		return s
	}
	local, remote, _ := strings.Cut(v, ":")
	return one(local) + ":" + one(remote)
}

// dumpAddKeys is AddKeysToAgent as -G prints it: with a lifetime, the seconds ("confirm 300"
// for "confirm 5m", "300" for "5m"); else the state.
func dumpAddKeys(vals []string) string {
	words := strings.Fields(strings.Join(vals, " "))
	names := trueFalseX("ask", "confirm")
	switch len(words) {
	case 0:
		return "false"
	case 2:
		return words[0] + " " + strconv.FormatInt(sshopt.Convtime(words[1]), 10)
	}
	if v, ok := names[strings.ToLower(words[0])]; ok {
		return v
	}
	if n := sshopt.Convtime(words[0]); n >= 0 {
		return strconv.FormatInt(n, 10)
	}
	return "false"
}

// isPathConnect says whether a resolved local forward ("LISTEN CONNECT") connects to a Unix
// socket path: ssh -G lists such a forward under dynamicforward too (dump_cfg_forwards takes
// a NULL connect_host for a dynamic forward).
func isPathConnect(fwd string) bool {
	_, connect, ok := strings.Cut(fwd, " ")
	return ok && !strings.HasPrefix(connect, "[") && strings.Contains(connect, "/")
}
