package sshconfig

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// Dump resolves the options for in.Host and writes what `ssh -G` prints for
// them (readconf.c:dump_client_config), in ssh's order and spellings, in one
// write. Keys the project acts on carry the values the daemon will use;
// the rest follow OpenSSH 9.2's defaults. Unlike ssh it never fails on an
// unknown %-token in ControlPath, RemoteCommand or ForwardAgent: it prints it
// as written. Errors are Resolve's and Target's, or w's own.
func Dump(w io.Writer, in Input) error {
	o, err := Resolve(in)
	if err != nil {
		return err
	}
	return DumpResolved(w, o, in)
}

// DumpResolved is Dump of options already resolved from in, so that a caller resolves once
// (a Match exec runs once, as in ssh).
func DumpResolved(w io.Writer, o Options, in Input) error {
	t, err := o.Target(in.Host, in.Home, in.LocalUser)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	writeDump(&b, o, t, in.Home, in.LocalUser)
	_, err = w.Write(b.Bytes())
	return err
}

// OpenSSH 9.2's default algorithm lists (Debian build), printed where nothing overrides them.
const (
	defCiphers  = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
	defMACs     = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1"
	defKex      = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
	defGSSKex   = "gss-group14-sha256-,gss-group16-sha512-,gss-nistp256-sha256-,gss-curve25519-sha256-,gss-group14-sha1-,gss-gex-sha1-"
	defKeyAlgos = "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
	defCASig    = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"
)

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
	hashNames    = map[string]string{"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}
	logNames     = map[string]string{"quiet": "SILENT", "fatal": "FATAL", "error": "ERROR", "info": "INFO", "verbose": "VERBOSE",
		"debug": "DEBUG", "debug1": "DEBUG", "debug2": "DEBUG2", "debug3": "DEBUG3"}
)

// dumper writes -G lines from resolved options.
type dumper struct {
	w io.Writer
	o Options
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

// seconds prints a time option in seconds, def when unset or not a time.
func (d dumper) seconds(key string, def int64) {
	if n := sshopt.Convtime(d.o.Get(key)); n >= 0 {
		def = n
	}
	d.line(key, fmt.Sprint(def))
}

// algos prints an algorithm list, applying the +, - and ^ forms to ssh's default.
func (d dumper) algos(key, def string) {
	v := d.o.Get(key)
	switch key {
	case "hostkeyalgorithms", "hostbasedacceptedalgorithms", "pubkeyacceptedalgorithms":
		v = expandKeyPatterns(v, false)
	case "casignaturealgorithms":
		v = expandKeyPatterns(v, true) // a CA signs with a plain key
	}
	d.line(key, assembleAlgos(v, def))
}

func (d dumper) each(key string, vals []string) {
	for _, v := range vals {
		d.line(key, v)
	}
}

// writeDump prints what readconf.c's dump_client_config prints, in its order.
func writeDump(w io.Writer, o Options, t Target, home, localUser string) {
	d := dumper{w: w, o: o}
	x := t.dumpTokens(home, localUser)
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
	d.line("serveraliveinterval", fmt.Sprint(int(t.ServerAliveInterval/time.Second)))
	d.str("requiredrsasize", "1024")

	d.str("bindaddress", "")
	d.str("bindinterface", "")
	d.algos("ciphers", defCiphers)
	if cp := o.Get("controlpath"); cp != "" && !strings.EqualFold(cp, "none") {
		d.line("controlpath", dumpPath(cp, home, x))
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
		rc, _ = expandTokens(rc, x, false)
		d.line("remotecommand", rc)
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
		if k == "dynamicforward" {
			// ssh keeps -L and -D in one list; their relative order is not kept here, and
			// the -L ones come first.
			for _, v := range o.Forwards("localforward") {
				if isPathConnect(v) {
					listen, _, _ := strings.Cut(v, " ")
					d.line(k, listen)
				}
			}
		}
		for _, v := range o.Forwards(k) {
			d.line(k, dumpForward(k, v))
		}
	}

	ids := o.All("identityfile")
	if len(ids) == 0 {
		ids = defaultIdentities
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
	d.line("addkeystoagent", dumpAddKeys(o.All("addkeystoagent")))
	switch fa := o.Get("forwardagent"); {
	case fa == "":
		d.line("forwardagent", "no")
	case yesNo[strings.ToLower(fa)] != "":
		d.line("forwardagent", yesNo[strings.ToLower(fa)])
	default:
		d.line("forwardagent", dumpPath(fa, home, x))
	}
	if ct := o.Get("connecttimeout"); ct == "" || strings.EqualFold(ct, "none") {
		d.line("connecttimeout", "none")
	} else {
		d.line("connecttimeout", fmt.Sprint(int(t.ConnectTimeout/time.Second)))
	}
	d.line("tunneldevice", dumpTunDev(o.Get("tunneldevice")))
	d.line("canonicalizePermittedcnames", oneLine(o.All("canonicalizepermittedcnames")))
	d.line("controlpersist", controlPersist(o.Get("controlpersist")))
	d.line("escapechar", dumpEscape(o.Get("escapechar")))
	d.line("ipqos", orDefault(strings.Join(o.All("ipqos"), " "), "lowdelay throughput"))
	d.line("rekeylimit", orDefault(strings.Join(o.All("rekeylimit"), " "), "0 0"))
	d.str("streamlocalbindmask", "0177")
	d.str("syslogfacility", "USER")
	if j := dumpJump(t.ProxyJump); j != "" {
		d.line("proxyjump", j)
	} else {
		d.str("proxycommand", "")
	}
}

// dumpTokens are the %-tokens ControlPath, RemoteCommand and ForwardAgent
// take: the path tokens, plus %j and %T.
func (t *Target) dumpTokens(home, localUser string) map[byte]string {
	x := t.tokens(home, localUser)
	x['j'] = t.ProxyJump
	x['T'] = "NONE" // no tunnel device is ever opened
	return x
}

// dumpPath is ~ then %-token expansion, as ssh applies to ControlPath; what
// cannot be expanded is printed as written.
func dumpPath(p, home string, x map[byte]string) string {
	if e, err := tildeExpand(p, home); err == nil {
		p = e
	}
	p, _ = expandTokens(p, x, false)
	return p
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
	if n := sshopt.Convtime(v); n > 0 {
		return fmt.Sprint(n)
	}
	return "yes" // ControlPersist 0: forever
}

// dumpJump prints the last hop as ssh does (brackets around numeric hosts),
// after any extra hops as given.
func dumpJump(spec string) string {
	if spec == "" {
		return ""
	}
	extra, last := "", spec
	if i := strings.LastIndexByte(spec, ','); i >= 0 {
		extra, last = spec[:i+1], spec[i+1:]
	}
	user, host, port, ok := SplitDestination(last)
	if !ok {
		return spec // validJump accepted it when it was read
	}
	if strings.Contains(last, "@") {
		user += "@" // an empty user too, as ssh prints it
	}
	if strings.Contains(host, ":") || strings.Trim(host, "0123456789.") == "" {
		host = "[" + host + "]"
	}
	if port != "" {
		port = ":" + port
	}
	return extra + user + host + port
}

// dumpForward spells one forward as dump_cfg_forwards does: a dynamic remote forward has the
// connect address ssh stores for it.
func dumpForward(key, spec string) string {
	if key == "remoteforward" && !strings.Contains(spec, " ") {
		return spec + " [socks]:0"
	}
	return spec
}

// assembleAlgos applies kex_assemble_names' list forms to def: "+x" appends, "-x" removes
// (a pattern list), "^x" prepends; anything else replaces the list.
func assembleAlgos(v, def string) string {
	if v == "" {
		return def
	}
	list := strings.Split(def, ",")
	switch v[0] {
	case '+':
		for _, a := range strings.Split(v[1:], ",") {
			if !slices.Contains(list, a) {
				list = append(list, a)
			}
		}
	case '^':
		head := strings.Split(v[1:], ",")
		for _, a := range list {
			if !slices.Contains(head, a) {
				head = append(head, a)
			}
		}
		list = head
	case '-':
		list = slices.DeleteFunc(list, func(a string) bool { return sshopt.MatchPatternList(a, v[1:], false) == 1 })
	default:
		return v
	}
	return strings.Join(list, ",")
}
