package client

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/tunnel"
)

// localAccount is the HOME and login name fakessh resolves configuration with, as newSession
// does: $HOME wins (tests and callers set it), the password database fills in.
func localAccount(stdio Stdio) (home, name string) {
	home, name = stdio.getenv("HOME"), stdio.getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
		if home == "" {
			home = u.HomeDir
		}
	}
	return home, name
}

// dumpConfig is -G: print the resolved configuration as ssh -G does and exit without connecting.
// Callers (git) only need status 0 and a plausible listing, but the keys fakessh acts on carry
// the values the daemon will use.
func dumpConfig(opts *flagparse.Options, stdio Stdio) error {
	home, name := localAccount(stdio)
	// flagparse keeps forwards in the form -G prints, which sshconfig's command-line input does
	// not take: resolve without them and put them back first, where ssh has them.
	cmdline, fwds := sshconfig.Options{}, map[string][]string{}
	for k, v := range opts.Config {
		switch k {
		case "localforward", "remoteforward", "dynamicforward":
			fwds[k] = v
		default:
			cmdline[k] = v
		}
	}
	if _, ok := cmdline["proxyjump"]; ok && sameValue(cmdline.Get("proxycommand"), "none") {
		// -J also sets ProxyCommand none, as ssh.c does; sshconfig would let that block the jump.
		delete(cmdline, "proxycommand")
	}
	o, err := sshconfig.Resolve(sshconfig.Input{
		Host: opts.Host, Cmdline: cmdline, ConfigFile: opts.ConfigFile, Home: home, LocalUser: name,
	})
	if err != nil {
		return configError(err)
	}
	t, err := o.Target(opts.Host, home, name)
	if err != nil {
		return &Error{Msg: "fakessh: " + err.Error(), Err: err}
	}
	var b strings.Builder
	writeConfig(&b, o, t, fwds, home, name)
	if _, err := io.WriteString(stdio.Stdout, b.String()); err != nil {
		return &Error{Msg: "fakessh: " + err.Error(), Err: err}
	}
	return nil
}

// configError shows a configuration error with the lines ssh prints.
func configError(err error) error {
	var ce *sshconfig.ConfigError
	if errors.As(err, &ce) && len(ce.Messages) > 0 {
		return &Error{Msg: strings.Join(ce.Messages, "\n"), Err: err}
	}
	return &Error{Msg: "fakessh: " + err.Error(), Err: err}
}

// control is -O: ask the daemon about the destination's tunnel. It never starts a daemon: with
// none running there is no tunnel, as with no ControlMaster socket.
func control(ctx context.Context, opts *flagparse.Options, stdio Stdio) error {
	var handle uint32
	switch opts.ControlCommand {
	case "check":
		handle = proto.DaemonCheck
	case "exit", "stop":
		// ssh's stop lets the master finish its sessions; the daemon's sessions do not depend on
		// this caller, so closing the connection is the nearest equivalent.
		handle = proto.DaemonExit
	default:
		return &Error{Msg: fmt.Sprintf("fakessh: -O %s is not supported", opts.ControlCommand)}
	}
	home, name := localAccount(stdio)
	sock := proto.SocketPath(stdio.getenv, home)
	req, _ := json.Marshal(proto.ConnectRequest{
		Host: opts.Host, Config: opts.Config, ConfigFile: opts.ConfigFile, Home: home, LocalUser: name,
	})
	b, err := callDaemon(ctx, sock, handle, req)
	if err != nil {
		return err
	}
	var reply proto.ControlReply
	if err := json.Unmarshal(b, &reply); err != nil {
		return &Error{Msg: "fakessh: daemon: bad reply: " + err.Error(), Err: err}
	}
	if !reply.Up {
		return &Error{Msg: fmt.Sprintf("Control socket connect(%s): no tunnel to %s", sock, reply.Destination)}
	}
	// mux.c ends these lines with \r\n: a terminal may be in raw mode.
	switch opts.ControlCommand {
	case "check":
		fmt.Fprintf(stdio.Stderr, "Master running (pid=%d)\r\n", reply.PID)
	case "exit":
		fmt.Fprint(stdio.Stderr, "Exit request sent.\r\n")
	case "stop":
		fmt.Fprint(stdio.Stderr, "Stop listening request sent.\r\n")
	}
	return nil
}

// callDaemon makes one call to a running daemon, with ssh's message when none answers.
func callDaemon(ctx context.Context, sock string, handle uint32, req []byte) ([]byte, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("Control socket connect(%s): %s", sock, strerror(err)), Err: err}
	}
	defer c.Close()
	if err := router.WriteHello(c, router.Hello{}); err != nil {
		return nil, &Error{Msg: "fakessh: " + err.Error(), Err: err}
	}
	h, err := router.ReadHello(c)
	if err != nil {
		return nil, &Error{Msg: "fakessh: daemon: " + err.Error(), Err: err}
	}
	ep := tunnel.NewEndpoint(nil)
	r := router.New(router.Config{ID: h.ID, Handler: ep})
	ep.Attach(r)
	r.AddLink(c, router.LinkConfig{Name: "daemon", Parent: true, Trusted: true, Routes: []router.ID{proto.Root}})
	defer r.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := ep.Call(ctx, proto.Root, handle, req)
	if err != nil {
		var re *tunnel.RemoteError
		if errors.As(err, &re) {
			return nil, &Error{Msg: re.Msg, Err: err}
		}
		return nil, &Error{Msg: "fakessh: daemon: " + err.Error(), Err: err}
	}
	return b, nil
}

// strerror spells an errno as C's strerror does ("No such file or directory").
func strerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := errno.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// OpenSSH 9.2's default algorithm lists (Debian build), printed by -G where nothing overrides them.
const (
	defCiphers  = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
	defMACs     = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"
	defKex      = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
	defGSSKex   = "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-"
	defKeyAlgos = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
	defCASig    = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
)

var defaultIdentityFiles = []string{
	"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
	"~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa",
}

// Spellings of readconf.c's multistate tables: the input (lowercase) to the first name ssh's
// table gives that value, which is what -G prints.
var (
	yesNo      = map[string]string{"yes": "yes", "true": "yes", "no": "no", "false": "no"}
	trueFalse  = map[string]string{"yes": "true", "true": "true", "no": "false", "false": "false"}
	trueFalseX = func(extra ...string) map[string]string {
		m := map[string]string{}
		for k, v := range trueFalse {
			m[k] = v
		}
		for _, e := range extra {
			m[e] = e
		}
		return m
	}
	strictNames  = map[string]string{"yes": "true", "true": "true", "no": "false", "false": "false", "off": "false", "ask": "ask", "accept-new": "accept-new"}
	tunnelNames  = map[string]string{"yes": "point-to-point", "true": "point-to-point", "point-to-point": "point-to-point", "ethernet": "ethernet", "no": "false", "false": "false"}
	familyNames  = map[string]string{"any": "any", "inet": "inet", "inet6": "inet6"}
	sessionNames = map[string]string{"none": "none", "subsystem": "subsystem", "default": "default"}
	hashNames    = map[string]string{"md5": "MD5", "sha256": "SHA256"}
	logNames     = map[string]string{"quiet": "SILENT", "fatal": "FATAL", "error": "ERROR", "info": "INFO", "verbose": "VERBOSE",
		"debug": "DEBUG", "debug1": "DEBUG", "debug2": "DEBUG2", "debug3": "DEBUG3"}
)

// dumper writes -G lines from resolved options.
type dumper struct {
	w io.Writer
	o sshconfig.Options
}

func (d dumper) line(key, val string) { fmt.Fprintf(d.w, "%s %s\n", key, val) }

// state prints a multistate option through names, def when unset or unknown.
func (d dumper) state(key string, names map[string]string, def string) {
	v, ok := names[strings.ToLower(d.o.Get(key))]
	if !ok {
		v = def
	}
	d.line(key, v)
}

// str prints a string option as given, def when unset; nothing when both are empty or "none"
// clears it, as ssh stores NULL.
func (d dumper) str(key, def string) {
	v := d.o.Get(key)
	if v == "" {
		v = def
	}
	if v != "" && !strings.EqualFold(v, "none") {
		d.line(key, v)
	}
}

// seconds prints a time option in seconds.
func (d dumper) seconds(key string, def int) {
	n := def
	if v := d.o.Get(key); v != "" {
		if s, ok := convtime(v); ok {
			n = s
		}
	}
	d.line(key, fmt.Sprint(n))
}

// algos prints an algorithm list, applying the +, - and ^ forms to ssh's default.
func (d dumper) algos(key, def string) {
	d.line(key, assembleAlgos(d.o.Get(key), def))
}

func (d dumper) each(key string, vals []string) {
	for _, v := range vals {
		d.line(key, v)
	}
}

// writeConfig prints what readconf.c's dump_client_config prints, in its order.
// cmdFwds are the command line's forwards, already in -G's form.
func writeConfig(w io.Writer, o sshconfig.Options, t sshconfig.Target, cmdFwds map[string][]string, home, localUser string) {
	d := dumper{w: w, o: o}
	x := expansions(t, home, localUser)
	d.line("host", t.Host)
	d.line("user", t.User)
	d.line("hostname", t.HostName)
	d.line("port", fmt.Sprint(t.Port))

	d.state("addressfamily", familyNames, "any")
	d.state("batchmode", yesNo, "no")
	d.state("canonicalizefallbacklocal", yesNo, "yes")
	d.state("canonicalizehostname", trueFalseX("always"), "false")
	for _, f := range []struct{ key, def string }{
		{"checkhostip", "no"}, {"compression", "no"},
	} {
		d.state(f.key, yesNo, f.def)
	}
	d.state("controlmaster", trueFalseX("auto", "ask", "autoask"), "false")
	for _, f := range []struct{ key, def string }{
		{"enablesshkeysign", "no"}, {"clearallforwardings", "no"}, {"exitonforwardfailure", "no"},
	} {
		d.state(f.key, yesNo, f.def)
	}
	d.state("fingerprinthash", hashNames, "SHA256")
	for _, f := range []struct{ key, def string }{
		{"forwardx11", "no"}, {"forwardx11trusted", "yes"}, {"gatewayports", "no"},
		{"gssapiauthentication", "no"}, {"gssapikeyexchange", "no"}, {"gssapidelegatecredentials", "no"},
		{"gssapitrustdns", "no"}, {"gssapirenewalforcesrekey", "no"},
	} {
		d.state(f.key, yesNo, f.def)
	}
	d.algos("gssapikexalgorithms", defGSSKex)
	for _, f := range []struct{ key, def string }{
		{"hashknownhosts", "no"}, {"hostbasedauthentication", "no"}, {"identitiesonly", "no"},
		{"kbdinteractiveauthentication", "yes"}, {"nohostauthenticationforlocalhost", "no"},
		{"passwordauthentication", "yes"}, {"permitlocalcommand", "no"}, {"proxyusefdpass", "no"},
	} {
		d.state(f.key, yesNo, f.def)
	}
	d.state("pubkeyauthentication", trueFalseX("unbound", "host-bound"), "true")
	d.state("requesttty", trueFalseX("force", "auto"), "auto")
	d.state("sessiontype", sessionNames, "default")
	d.state("stdinnull", yesNo, "no")
	d.state("forkafterauthentication", yesNo, "no")
	d.state("streamlocalbindunlink", yesNo, "no")
	d.state("stricthostkeychecking", strictNames, "ask")
	d.state("tcpkeepalive", yesNo, "yes")
	d.state("tunnel", tunnelNames, "false")
	d.state("verifyhostkeydns", trueFalseX("ask"), "false")
	d.state("visualhostkey", yesNo, "no")
	// ssh turns UpdateHostKeys on by default only for the default known_hosts files.
	updateDef := "false"
	if len(o.All("userknownhostsfile")) == 0 && trueFalseX("ask")[strings.ToLower(o.Get("verifyhostkeydns"))] != "true" {
		updateDef = "true"
	}
	d.state("updatehostkeys", trueFalseX("ask"), updateDef)
	d.state("enableescapecommandline", yesNo, "no")

	for _, f := range []struct {
		key string
		def int
	}{{"canonicalizemaxdots", 1}, {"connectionattempts", 1}} {
		d.str(f.key, fmt.Sprint(f.def))
	}
	d.seconds("forwardx11timeout", 1200)
	d.str("numberofpasswordprompts", "3")
	d.line("serveralivecountmax", fmt.Sprint(t.ServerAliveCountMax))
	alive := int(t.ServerAliveInterval / time.Second)
	if o.Get("serveraliveinterval") == "" && t.BatchMode {
		alive = 300 // fill_default_options: BatchMode must not hang on a dead server
	}
	d.line("serveraliveinterval", fmt.Sprint(alive))
	d.str("requiredrsasize", "1024")

	d.str("bindaddress", "")
	d.str("bindinterface", "")
	d.algos("ciphers", defCiphers)
	if cp := o.Get("controlpath"); cp != "" && !strings.EqualFold(cp, "none") {
		d.line("controlpath", expandPath(cp, home, x))
	}
	d.algos("hostkeyalgorithms", defKeyAlgos)
	if t.HostKeyAlias != "" {
		d.line("hostkeyalias", t.HostKeyAlias)
	}
	d.algos("hostbasedacceptedalgorithms", defKeyAlgos)
	if t.IdentityAgent != "" {
		d.line("identityagent", t.IdentityAgent)
	}
	d.str("ignoreunknown", "")
	d.str("kbdinteractivedevices", "")
	d.algos("kexalgorithms", defKex)
	d.algos("casignaturealgorithms", defCASig)
	d.str("localcommand", "")
	if rc := o.Get("remotecommand"); rc != "" && !strings.EqualFold(rc, "none") {
		d.line("remotecommand", percentExpand(rc, x))
	}
	d.state("loglevel", logNames, "INFO")
	d.algos("macs", defMACs)
	d.str("pkcs11provider", "")
	d.str("securitykeyprovider", "internal")
	d.str("preferredauthentications", "")
	d.algos("pubkeyacceptedalgorithms", defKeyAlgos)
	d.str("revokedhostkeys", "")
	d.str("xauthlocation", "/usr/bin/xauth")
	d.str("knownhostscommand", "")

	for _, k := range []string{"dynamicforward", "localforward", "remoteforward"} {
		for _, v := range cmdFwds[k] {
			if k == "remoteforward" && !strings.Contains(v, " ") {
				v += " [socks]:0" // a dynamic remote forward, as ssh stores it
			}
			d.line(k, v)
		}
		d.each(k, mapForwards(o.All(k), k == "dynamicforward"))
	}

	ids := o.All("identityfile")
	if len(ids) == 0 {
		ids = defaultIdentityFiles
	}
	d.each("identityfile", ids) // ssh -G prints them before expanding ~ and %-tokens
	d.line("canonicaldomains", oneLine(o.All("canonicaldomains")))
	d.each("certificatefile", o.All("certificatefile"))
	d.line("globalknownhostsfile", oneLine(t.GlobalKnownHostsFiles))
	d.line("userknownhostsfile", oneLine(t.UserKnownHostsFiles))
	d.each("sendenv", o.All("sendenv"))
	d.each("setenv", o.All("setenv"))
	d.line("logverbose", oneLine(o.All("logverbose")))

	d.line("permitremoteopen", orDefault(strings.Join(o.All("permitremoteopen"), " "), "any"))
	d.state("addkeystoagent", trueFalseX("ask", "confirm"), "false")
	switch fa := o.Get("forwardagent"); {
	case fa == "":
		d.line("forwardagent", "no")
	case yesNo[strings.ToLower(fa)] != "":
		d.line("forwardagent", yesNo[strings.ToLower(fa)])
	default:
		d.line("forwardagent", expandPath(fa, home, x))
	}
	if ct := o.Get("connecttimeout"); ct == "" || strings.EqualFold(ct, "none") {
		d.line("connecttimeout", "none")
	} else {
		d.line("connecttimeout", fmt.Sprint(int(t.ConnectTimeout/time.Second)))
	}
	d.str("tunneldevice", "any:any")
	d.line("canonicalizePermittedcnames", oneLine(o.All("canonicalizepermittedcnames")))
	d.line("controlpersist", controlPersist(o.Get("controlpersist")))
	d.str("escapechar", "~")
	d.line("ipqos", orDefault(strings.Join(o.All("ipqos"), " "), "lowdelay throughput"))
	d.line("rekeylimit", orDefault(strings.Join(o.All("rekeylimit"), " "), "0 0"))
	d.str("streamlocalbindmask", "0177")
	d.str("syslogfacility", "USER")
	if j := proxyJump(t.ProxyJump); j != "" {
		d.line("proxyjump", j)
	} else {
		d.str("proxycommand", "")
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// oneLine is dump_cfg_strarray_oneline: space-separated, "none" when empty.
func oneLine(vals []string) string {
	if len(vals) == 0 {
		return "none"
	}
	return strings.Join(vals, " ")
}

// controlPersist prints yes/no, or the timeout in seconds.
func controlPersist(v string) string {
	switch strings.ToLower(v) {
	case "", "no", "false":
		return "no"
	case "yes", "true":
		return "yes"
	}
	if n, ok := convtime(v); ok && n > 0 {
		return fmt.Sprint(n)
	}
	return "yes" // ControlPersist 0: forever
}

// proxyJump prints the last hop as ssh does (brackets around numeric hosts), after any extra
// hops as given.
func proxyJump(spec string) string {
	if spec == "" {
		return ""
	}
	extra, last := "", spec
	if i := strings.LastIndexByte(spec, ','); i >= 0 {
		extra, last = spec[:i+1], spec[i+1:]
	}
	last = strings.TrimPrefix(last, "ssh://")
	userPart, hostPort := "", last
	if i := strings.LastIndexByte(last, '@'); i >= 0 {
		userPart, hostPort = last[:i+1], last[i+1:]
	}
	host, port := hostPort, ""
	if strings.HasPrefix(hostPort, "[") {
		if i := strings.IndexByte(hostPort, ']'); i > 0 {
			host, port = hostPort[1:i], strings.TrimPrefix(hostPort[i+1:], ":")
		}
	} else if i := strings.LastIndexByte(hostPort, ':'); i >= 0 && strings.Count(hostPort, ":") == 1 {
		host, port = hostPort[:i], hostPort[i+1:]
	}
	if strings.Contains(host, ":") || strings.Trim(host, "0123456789.") == "" {
		host = "[" + host + "]"
	}
	if port != "" {
		port = ":" + port
	}
	return extra + userPart + host + port
}

// mapForwards formats stored forwards ("8080:host:80", "[::1]:8080:/sock", ...) as
// dump_cfg_forwards does: "[listen]:port [connect]:port", ports alone where no host was given.
func mapForwards(vals []string, dynamic bool) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		f := splitForward(v)
		var listen, connect []string
		switch {
		case dynamic:
			listen = f
		case len(f) >= 2 && strings.Contains(f[len(f)-1], "/"):
			listen, connect = f[:len(f)-1], f[len(f)-1:]
		case len(f) >= 3:
			listen, connect = f[:len(f)-2], f[len(f)-2:]
		default:
			listen = f
		}
		s := fwdAddr(listen)
		switch {
		case connect != nil:
			s += " " + fwdAddr(connect)
		case !dynamic:
			s += " [socks]:0" // a dynamic remote forward, as ssh stores it
		}
		out = append(out, s)
	}
	return out
}

func fwdAddr(f []string) string {
	switch len(f) {
	case 1:
		return f[0] // a port alone, or a socket path
	case 2:
		if f[0] == "" {
			return f[1]
		}
		return "[" + f[0] + "]:" + f[1]
	}
	return strings.Join(f, ":")
}

// splitForward splits at colons outside brackets, removing the brackets.
func splitForward(s string) []string {
	var out []string
	var cur strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == ':' && depth == 0:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, cur.String())
}

// assembleAlgos applies kex_assemble_names' list forms to def: "+x" appends, "-x" removes
// (patterns), "^x" prepends; anything else replaces the list.
func assembleAlgos(v, def string) string {
	if v == "" {
		return def
	}
	list := strings.Split(def, ",")
	switch v[0] {
	case '+':
		for _, a := range strings.Split(v[1:], ",") {
			if !containsStr(list, a) {
				list = append(list, a)
			}
		}
	case '^':
		head := strings.Split(v[1:], ",")
		for _, a := range list {
			if !containsStr(head, a) {
				head = append(head, a)
			}
		}
		list = head
	case '-':
		pats := strings.Split(v[1:], ",")
		var keep []string
		for _, a := range list {
			drop := false
			for _, p := range pats {
				if m, _ := path.Match(p, a); m {
					drop = true
				}
			}
			if !drop {
				keep = append(keep, a)
			}
		}
		list = keep
	default:
		return v
	}
	return strings.Join(list, ",")
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// convtime parses ssh's time format: a number of seconds, or numbers with s, m, h, d, w
// suffixes, summed ("1h30m").
func convtime(s string) (int, bool) {
	total, n, digits := 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			n = n*10 + int(c-'0')
			digits = true
			continue
		}
		if !digits {
			return 0, false
		}
		mult, ok := map[byte]int{'s': 1, 'S': 1, 'm': 60, 'M': 60, 'h': 3600, 'H': 3600, 'd': 86400, 'D': 86400, 'w': 604800, 'W': 604800}[c]
		if !ok {
			return 0, false
		}
		total += n * mult
		n, digits = 0, false
	}
	return total + n, true
}

// expansions are the %-tokens of ssh_config(5) that ControlPath, RemoteCommand and ForwardAgent
// take; sshconfig expands the rest itself.
func expansions(t sshconfig.Target, home, localUser string) map[byte]string {
	local, _ := os.Hostname()
	short, _, _ := strings.Cut(local, ".")
	port := strconv.Itoa(t.Port)
	sum := sha1.Sum([]byte(local + t.HostName + port + t.User))
	alias := t.HostKeyAlias
	if alias == "" {
		alias = t.Host
	}
	return map[byte]string{
		'%': "%", 'C': hex.EncodeToString(sum[:]), 'L': short, 'd': home, 'h': t.HostName,
		'i': strconv.Itoa(os.Getuid()), 'j': t.ProxyJump, 'k': alias, 'l': local, 'n': t.Host,
		'p': port, 'r': t.User, 'u': localUser, 'T': "NONE",
	}
}

// percentExpand replaces %x tokens; unknown ones stay as they are (ssh would refuse them, and
// the daemon reports that when it connects).
func percentExpand(s string, x map[byte]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+1 < len(s) {
			if v, ok := x[s[i+1]]; ok {
				b.WriteString(v)
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// expandPath is ~ then %-token expansion, as ssh applies to ControlPath.
func expandPath(p, home string, x map[byte]string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = home + p[1:]
	}
	return percentExpand(p, x)
}
