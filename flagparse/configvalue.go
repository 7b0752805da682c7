package flagparse

import (
	"strconv"
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// applyValue handles the keywords whose single argument ssh validates.
func (l *cline) applyValue(k sshopt.Kind) *Error {
	switch k {
	case sshopt.KLocalFwd, sshopt.KRemoteFwd, sshopt.KDynamicFwd:
		return l.forward(k)
	case sshopt.KIdentity:
		a, err := l.need()
		if err == nil && !l.p.idLine[a] {
			l.p.idLine[a] = true
			l.cfg().add(l.key, a)
		}
		return err
	case sshopt.KCertificate:
		a, err := l.need()
		if err == nil {
			l.p.addUnique(l.key, a)
		}
		return err
	case sshopt.KSendEnv:
		return l.sendEnv()
	case sshopt.KSetEnv:
		return l.setEnv()
	case sshopt.KJump:
		return l.jump()
	case sshopt.KForwardAgent:
		a, ok := l.next()
		if !ok || a == "" {
			return lineErr("missing argument.")
		}
		if v, ok := sshopt.Multistates["flag"][sshopt.ASCIILower(a)]; ok {
			a = v
		}
		l.cfg().setFirst(l.key, a)
		return nil
	case sshopt.KAddKeys:
		return l.addKeys()
	case sshopt.KUpTo2:
		a, err := l.need()
		if err != nil {
			return err
		}
		vals := []string{a}
		if b, ok := l.next(); ok {
			vals = append(vals, b)
		}
		l.cfg().setFirst(l.key, vals...)
		return nil
	}
	return l.scalar(k)
}

// scalar handles one-argument keywords with a checked value.
func (l *cline) scalar(k sshopt.Kind) *Error {
	a, ok := l.next()
	var msg string
	switch k {
	case sshopt.KInt:
		if _, e := sshopt.AtoiErr(a); e != "" {
			msg = "integer value " + e + "."
		}
	case sshopt.KTime:
		if !ok || a == "" {
			msg = "missing time value."
		} else if a != "none" && sshopt.Convtime(a) < 0 {
			msg = "invalid time value."
		}
	case sshopt.KControlPersist:
		if !ok || a == "" {
			msg = "Missing ControlPersist argument."
		} else if a == "true" || a == "false" {
			a = sshopt.Multistates["flag"][a]
		} else if a != "yes" && a != "no" && sshopt.Convtime(a) < 0 {
			msg = "Bad ControlPersist argument."
		}
	default:
		if !ok || a == "" {
			msg = missingMsg(k)
		} else {
			return l.checked(k, a)
		}
	}
	if msg != "" {
		return lineErr(msg)
	}
	l.cfg().setFirst(l.key, a)
	return nil
}

func missingMsg(k sshopt.Kind) string {
	switch k {
	case sshopt.KLogLevel:
		return "unsupported log level '<NONE>'"
	case sshopt.KFacility:
		return "unsupported log facility '<NONE>'"
	}
	return "Missing argument."
}

// checked validates a present, non-empty argument and stores it.
func (l *cline) checked(k sshopt.Kind, a string) *Error {
	val := a
	switch k {
	case sshopt.KPort:
		n := sshopt.A2port(a)
		if n <= 0 {
			return lineErr("Bad port '" + a + "'.")
		}
		val = strconv.Itoa(n)
	case sshopt.KEscape:
		if !sshopt.EscapeValid(a) {
			return lineErr("Bad escape character.")
		}
	case sshopt.KTunDev:
		if !sshopt.TunValid(a) {
			return lineErr("Bad tun device.")
		}
	case sshopt.KMask:
		// ssh ignores anything after the octal digits.
		v, _, ok := sshopt.Strtol(a, 8)
		if !ok || v < 0 || v > 0777 {
			return lineErr("Bad mask.")
		}
	case sshopt.KFingerprint:
		val = sshopt.ASCIILower(a)
		if !contains(sshopt.FingerprintHashes, val) {
			return lineErr("Invalid hash algorithm \"" + a + "\".")
		}
	case sshopt.KLogLevel:
		i := sshopt.LogLevelIndex(a)
		if i < 0 {
			return lineErr("unsupported log level '" + a + "'")
		}
		val = sshopt.LogLevels[i]
	case sshopt.KFacility:
		val = sshopt.ASCIILower(a)
		if !contains(sshopt.LogFacilities, val) {
			return lineErr("unsupported log facility '" + a + "'")
		}
	default:
		if err := l.algorithms(k, a); err != nil {
			return err
		}
	}
	l.cfg().setFirst(l.key, val)
	return nil
}

// algorithms validates the algorithm-list keywords; a list starting with
// '-' (removal) is not checked, '+' and '^' are skipped, as in readconf.c.
func (l *cline) algorithms(k sshopt.Kind, a string) *Error {
	list := a
	if k != sshopt.KGSSKex {
		if a[0] == '-' {
			return nil
		}
		if a[0] == '+' || a[0] == '^' {
			list = a[1:]
		}
	}
	switch k {
	case sshopt.KCiphers:
		if !ciphersValid(list) {
			return lineErr("Bad SSH2 cipher spec '" + a + "'.")
		}
	case sshopt.KMACs:
		if !macsValid(list) {
			return lineErr("Bad SSH2 MAC spec '" + a + "'.")
		}
	case sshopt.KKex:
		if bad, ok := namesValid(list, kexAlgs); !ok {
			return fatalErr(unsupportedKex(bad) + linePrefix + "Bad SSH2 KexAlgorithms '" + a + "'.")
		}
	case sshopt.KGSSKex:
		if bad, ok := gssKexValid(list); !ok {
			return fatalErr(unsupportedKex(bad) + linePrefix + "Bad GSSAPI KexAlgorithms '" + a + "'.")
		}
	case sshopt.KKeyTypes:
		if !keyTypesValid(list) {
			return lineErr("Bad key types '" + a + "'.")
		}
	}
	return nil
}

func unsupportedKex(name string) string {
	if name == "" {
		return ""
	}
	if len(name) > 100 {
		name = name[:100]
	}
	return "Unsupported KEX algorithm \"" + name + "\"\n"
}

func (l *cline) forward(k sshopt.Kind) *Error {
	a, ok := l.next()
	if !ok || a == "" {
		return lineErr("Missing port argument.")
	}
	remote, dynamic := k == sshopt.KRemoteFwd, k == sshopt.KDynamicFwd
	spec := a
	if !dynamic {
		b, ok := l.next()
		if !ok || b == "" {
			if !remote {
				return lineErr("Missing target argument.")
			}
			dynamic = true
		} else {
			spec = a + ":" + b
		}
	}
	s, ok := sshopt.ParseForward(spec, dynamic, remote)
	if !ok {
		return lineErr("Bad forwarding specification.")
	}
	l.p.addUnique(l.key, s)
	return nil
}

// sendEnv appends names; "-pattern" removes the matching names so far.
func (l *cline) sendEnv() *Error {
	for {
		a, ok := l.next()
		if !ok {
			return nil
		}
		if a == "" || strings.Contains(a, "=") {
			return lineErr("Invalid environment name.")
		}
		if a[0] != '-' {
			l.cfg().add(l.key, a)
			continue
		}
		kept := l.cfg()[l.key][:0:0]
		for _, v := range l.cfg()[l.key] {
			if !sshopt.MatchPattern(v, a[1:]) {
				kept = append(kept, v)
			}
		}
		l.cfg()[l.key] = kept
	}
}

// setEnv: the first SetEnv line wins; a line keeps the first of each name.
func (l *cline) setEnv() *Error {
	first := !l.cfg().has(l.key)
	var vals []string
	for {
		a, ok := l.next()
		if !ok {
			break
		}
		if !strings.Contains(a, "=") {
			return lineErr("Invalid SetEnv.")
		}
		if first && !hasEnvName(vals, a) {
			vals = append(vals, a)
		}
	}
	if first && len(vals) > 0 {
		l.cfg().set(l.key, vals...)
	}
	return nil
}

func hasEnvName(list []string, kv string) bool {
	name := kv[:strings.IndexByte(kv, '=')]
	for _, v := range list {
		if v[:strings.IndexByte(v, '=')] == name {
			return true
		}
	}
	return false
}

// jump is ProxyJump, read from the raw line like a command. The syntax
// is always checked; the value applies only while neither ProxyJump nor
// ProxyCommand is set, and a real jump implies ProxyCommand none, as
// parse_jump does.
func (l *cline) jump() *Error {
	l.args = nil
	raw := sshopt.SkipSet(l.raw, sshopt.Whitespace+"=")
	spec := jumpSpec(raw)
	if msg, ok := checkJump(spec); !ok {
		return fatalErr(msg + linePrefix + "Invalid ProxyJump \"" + raw + "\"")
	}
	c := l.cfg()
	if c.has("proxyjump") || c.has("proxycommand") {
		return nil
	}
	c.set("proxyjump", spec)
	if !strings.EqualFold(spec, "none") {
		c.set("proxycommand", "none")
	}
	return nil
}

// addKeys is AddKeysToAgent: yes/no/ask/confirm, "confirm TIME", or TIME.
func (l *cline) addKeys() *Error {
	a, _ := l.next()
	b, hasB := l.next()
	v, known := map[string]string{"yes": "yes", "true": "yes", "no": "no",
		"false": "no", "ask": "ask", "confirm": "confirm"}[sshopt.ASCIILower(a)]
	switch {
	case a == "":
		return lineErr("missing argument.\n" + linePrefix + "unsupported option")
	case v == "confirm" && hasB:
		if sshopt.Convtime(b) < 0 {
			return lineErr("invalid time value.")
		}
		l.cfg().setFirst(l.key, v, b)
	case !known && !hasB:
		if sshopt.Convtime(a) < 0 {
			return lineErr("unsupported option")
		}
		l.cfg().setFirst(l.key, a)
	case !known || hasB:
		return lineErr("unsupported option")
	default:
		l.cfg().setFirst(l.key, v)
	}
	return nil
}
