package sshconfig

import (
	"fmt"
	"slices"
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

// keySigAlgs is sshkey_alg_list(0, 0, 1): every key and signature algorithm of OpenSSH 9.2 as
// built by Debian 12, in its order (ssh -Q key-sig).
var keySigAlgs = strings.Fields(`ssh-ed25519 ssh-ed25519-cert-v01@openssh.com sk-ssh-ed25519@openssh.com
	sk-ssh-ed25519-cert-v01@openssh.com ecdsa-sha2-nistp256 ecdsa-sha2-nistp256-cert-v01@openssh.com
	ecdsa-sha2-nistp384 ecdsa-sha2-nistp384-cert-v01@openssh.com ecdsa-sha2-nistp521
	ecdsa-sha2-nistp521-cert-v01@openssh.com sk-ecdsa-sha2-nistp256@openssh.com
	sk-ecdsa-sha2-nistp256-cert-v01@openssh.com webauthn-sk-ecdsa-sha2-nistp256@openssh.com ssh-dss
	ssh-dss-cert-v01@openssh.com ssh-rsa ssh-rsa-cert-v01@openssh.com rsa-sha2-256
	rsa-sha2-256-cert-v01@openssh.com rsa-sha2-512 rsa-sha2-512-cert-v01@openssh.com`)

// expandKeyPatterns replaces each wildcard in a key-algorithm list ("ssh-ed*", also after "+"
// or "^") by the algorithms it matches, in keySigAlgs' order (certificate types left out when
// plainOnly), as kex_assemble_names does; a "-" list stays a pattern list.
func expandKeyPatterns(v string, plainOnly bool) string {
	if v == "" || v[0] == '-' || !strings.ContainsAny(v, "*?") {
		return v
	}
	prefix := ""
	if v[0] == '+' || v[0] == '^' {
		prefix, v = v[:1], v[1:]
	}
	var out []string
	add := func(a string) {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, a := range strings.Split(v, ",") {
		if !strings.ContainsAny(a, "*?") {
			add(a)
			continue
		}
		for _, k := range keySigAlgs {
			if sshopt.MatchPattern(k, a) && !(plainOnly && strings.Contains(k, "-cert-")) {
				add(k)
			}
		}
	}
	return prefix + strings.Join(out, ",")
}
