package flagparse

import (
	"strconv"
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// flag applies one option as ssh.c's getopt switch does. Options that
// ssh.c assigns directly overwrite; the others keep the first value.
func (p *parser) flag(opt byte, arg string) *Error {
	c := p.cfg
	switch opt {
	case '1':
		return fatalErr("SSH protocol v.1 is no longer supported")
	case '2':
		// Ignored: protocol 2 is the only one.
	case '4':
		c.set("addressfamily", "inet")
	case '6':
		c.set("addressfamily", "inet6")
	case 'n':
		c.set("stdinnull", "yes")
	case 'f':
		c.set("forkafterauthentication", "yes")
		c.set("stdinnull", "yes")
	case 'x':
		c.set("forwardx11", "no")
	case 'X':
		c.set("forwardx11", "yes")
	case 'Y':
		c.set("forwardx11", "yes")
		c.set("forwardx11trusted", "yes")
	case 'y':
		p.o.Syslog = true
	case 'E':
		p.o.LogFile = arg
	case 'F':
		p.o.ConfigFile = arg
	case 'G':
		p.o.DumpConfig = true
	case 'g':
		c.set("gatewayports", "yes")
	case 'a':
		c.set("forwardagent", "no")
	case 'A':
		c.set("forwardagent", "yes")
	case 'k':
		c.set("gssapidelegatecredentials", "no")
	case 'K':
		c.set("gssapiauthentication", "yes")
		c.set("gssapidelegatecredentials", "yes")
	case 'C':
		c.set("compression", "yes")
	case 'b':
		c.set("bindaddress", arg)
	case 'B':
		c.set("bindinterface", arg)
	case 'I':
		c.set("pkcs11provider", arg)
	case 'S':
		c.set("controlpath", arg)
	case 'i':
		// ssh skips (with a warning) a file it cannot stat; that is I/O, left to the caller.
		p.o.IdentityFlags = append(p.o.IdentityFlags, arg)
		if !p.idFlag[arg] {
			p.idFlag[arg] = true
			c.add("identityfile", arg)
		}
	case 'l':
		c.setFirst("user", arg)
	case 'P':
		c.setFirst("tag", arg)
	case 'q':
		c.set("loglevel", "quiet")
	case 'v':
		p.verbose()
	case 'T':
		c.set("requesttty", "no")
	case 't':
		if v, _ := c.Get("requesttty"); v == "yes" {
			c.set("requesttty", "force")
		} else {
			c.set("requesttty", "yes")
		}
	case 'M':
		if v, _ := c.Get("controlmaster"); v == "yes" {
			c.set("controlmaster", "ask")
		} else {
			c.set("controlmaster", "yes")
		}
	case 'V':
		p.o.Version = true
		p.stop = true
	case 'Q':
		return p.query(arg)
	default:
		return p.flagArg(opt, arg)
	}
	return nil
}

// flagArg handles the flags whose argument ssh validates.
func (p *parser) flagArg(opt byte, arg string) *Error {
	c := p.cfg
	switch opt {
	case 'p':
		if !c.has("port") {
			port := sshopt.A2port(arg)
			if port <= 0 {
				return plainErr("Bad port '" + arg + "'")
			}
			c.set("port", strconv.Itoa(port))
		}
	case 'c':
		list := arg
		if strings.HasPrefix(arg, "+") || strings.HasPrefix(arg, "^") {
			list = arg[1:]
		}
		if !ciphersValid(list) {
			return plainErr("Unknown cipher type '" + arg + "'")
		}
		c.set("ciphers", arg)
	case 'm':
		if !macsValid(arg) {
			return plainErr("Unknown mac type '" + arg + "'")
		}
		c.set("macs", arg)
	case 'e':
		if !sshopt.EscapeValid(arg) {
			return plainErr("Bad escape character '" + arg + "'.")
		}
		c.set("escapechar", arg)
	case 'w':
		if !sshopt.TunValid(arg) {
			return plainErr("Bad tun device '" + arg + "'")
		}
		c.setFirst("tunnel", "yes")
		c.set("tunneldevice", arg)
	case 'L', 'R', 'D':
		return p.forwardFlag(opt, arg)
	case 'J':
		return p.jumpFlag(arg)
	case 'N', 's':
		return p.sessionFlag(opt)
	case 'W':
		return p.stdioFlag(arg)
	case 'O':
		return p.controlFlag(arg)
	case 'o':
		return p.configLine(arg)
	}
	return nil
}

// verbose mirrors ssh.c: the first -v sets DEBUG1 whatever LogLevel was,
// later ones raise the level by one up to DEBUG3.
func (p *parser) verbose() {
	p.o.Verbose++
	if p.debugFlag == 0 {
		p.debugFlag = 1
		p.cfg.set("loglevel", "debug1")
		return
	}
	cur, _ := p.cfg.Get("loglevel")
	i := sshopt.LogLevelIndex(cur)
	if i >= 0 && i < len(sshopt.LogLevels)-1 {
		p.debugFlag++
		p.cfg.set("loglevel", sshopt.LogLevels[i+1])
	}
}

func (p *parser) forwardFlag(opt byte, arg string) *Error {
	var (
		s  string
		ok bool
	)
	switch opt {
	case 'L':
		s, ok = sshopt.ParseForward(arg, false, false)
		if !ok {
			return plainErr("Bad local forwarding specification '" + arg + "'")
		}
		p.addUnique("localforward", s)
	case 'R':
		if s, ok = sshopt.ParseForward(arg, false, true); !ok {
			s, ok = sshopt.ParseForward(arg, true, true)
		}
		if !ok {
			return plainErr("Bad remote forwarding specification '" + arg + "'")
		}
		p.addUnique("remoteforward", s)
	case 'D':
		s, ok = sshopt.ParseForward(arg, true, false)
		if !ok {
			return plainErr("Bad dynamic forwarding specification '" + arg + "'")
		}
		p.addUnique("dynamicforward", s)
	}
	return nil
}

// addUnique appends unless the same value is present: ssh drops duplicate
// forwards and certificate files.
func (p *parser) addUnique(key, val string) {
	for _, v := range p.cfg[key] {
		if v == val {
			return
		}
	}
	p.cfg.add(key, val)
}

func (p *parser) jumpFlag(arg string) *Error {
	if p.cfg.has("proxyjump") {
		return fatalErr("Only a single -J option is permitted (use commas to separate multiple jump hops)")
	}
	if p.cfg.has("proxycommand") {
		return fatalErr("Cannot specify -J with ProxyCommand")
	}
	spec := jumpSpec(arg)
	if msg, ok := checkJump(spec); !ok {
		return fatalErr(msg + "Invalid -J argument")
	}
	p.cfg.set("proxyjump", spec)
	p.cfg.set("proxycommand", "none")
	return nil
}

func (p *parser) sessionFlag(opt byte) *Error {
	cur := p.sessionType()
	if opt == 'N' {
		if cur != "" && cur != "none" {
			return fatalErr("Cannot specify -N with -s/SessionType")
		}
		p.cfg.set("sessiontype", "none")
		p.cfg.set("requesttty", "no")
		return nil
	}
	if cur != "" && cur != "subsystem" {
		return fatalErr("Cannot specify -s with -N/SessionType")
	}
	p.cfg.set("sessiontype", "subsystem")
	return nil
}

func (p *parser) stdioFlag(arg string) *Error {
	if p.stdioSet {
		return fatalErr("stdio forward already specified")
	}
	if p.o.ControlCommand != "" {
		return fatalErr("Cannot specify stdio forward with -O")
	}
	fw, ok := sshopt.ParseForwardSpec(arg, true, false)
	if !ok {
		return plainErr("Bad stdio forwarding specification '" + arg + "'")
	}
	// ssh.c takes only listen_host: "-W port" or "-W /path" leave no
	// stdio forward, though they still imply -N -T.
	if fw.HasListenHost {
		p.stdioSet = true
		p.o.StdioForward = arg
	}
	p.cfg.set("requesttty", "no")
	p.cfg.set("sessiontype", "none")
	return nil
}

var muxCommands = map[string]bool{
	"check": true, "forward": true, "exit": true, "stop": true, "cancel": true, "proxy": true,
}

func (p *parser) controlFlag(arg string) *Error {
	if p.stdioSet {
		return fatalErr("Cannot specify multiplexing command with -W")
	}
	if p.o.ControlCommand != "" {
		return fatalErr("Multiplexing command already specified")
	}
	if !muxCommands[arg] {
		return fatalErr("Invalid multiplex command.")
	}
	p.o.ControlCommand = arg
	return nil
}

// queryExact and queryFold are the -Q arguments ssh 9.2 (Debian) answers,
// compared case-sensitively and case-insensitively as ssh.c does.
var (
	queryExact = []string{"cipher", "cipher-auth", "compression", "mac", "kex",
		"kex-gss", "key", "key-cert", "key-plain", "key-sig", "sig",
		"protocol-version", "help"}
	queryFold = []string{"Ciphers", "MACs", "KexAlgorithms", "CASignatureAlgorithms",
		"PubkeyAcceptedKeyTypes", "PubkeyAcceptedAlgorithms", "HostKeyAlgorithms",
		"HostbasedKeyTypes", "HostbasedAcceptedKeyTypes", "HostbasedAcceptedAlgorithms"}
)

func queryValid(q string) bool {
	for _, s := range queryExact {
		if q == s {
			return true
		}
	}
	for _, s := range queryFold {
		if strings.EqualFold(q, s) {
			return true
		}
	}
	return false
}

// query handles -Q: ssh answers and exits at once, so scanning stops.
func (p *parser) query(arg string) *Error {
	if !queryValid(arg) {
		return fatalErr("Unsupported query \"" + arg + "\"")
	}
	p.o.Query = arg
	p.stop = true
	return nil
}
