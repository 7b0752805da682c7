package flagparse

import "strings"

// parser carries the ssh.c state that is not itself a Config value.
type parser struct {
	o         *Options
	cfg       Config
	hostSet   bool
	debugFlag int
	// identity files are de-duplicated per source, as add_identity_file
	// does with its userprovided flag.
	idFlag, idLine map[string]bool
	stop           bool // -V or -Q: ssh exits while still scanning
	stdioSet       bool // -W gave a host (ssh's stdio_forward_host)
}

// Parse parses args, ssh's argv without argv[0]. Its error is always an
// *Error carrying the message ssh would print.
func Parse(args []string) (*Options, error) {
	p := &parser{
		o:      &Options{},
		cfg:    Config{},
		idFlag: map[string]bool{},
		idLine: map[string]bool{},
	}
	p.o.Config = p.cfg
	// ssh sees C strings: an argument ends at its first NUL.
	args = append([]string(nil), args...)
	for i, a := range args {
		if j := strings.IndexByte(a, 0); j >= 0 {
			args[i] = a[:j]
		}
	}
	if err := p.parse(args); err != nil {
		return nil, err
	}
	p.derive()
	return p.o, nil
}

// parse follows the loop at the top of ssh.c's main: scan options, take
// the destination, and scan again from the word after it.
func (p *parser) parse(argv []string) *Error {
	cargs := append([]string{"ssh"}, argv...)
	for {
		g := newGetopt(cargs)
		if err := p.scan(g); err != nil || p.stop {
			return err
		}
		terminated := g.optind > 1 && cargs[g.optind-1] == "--"
		rest := cargs[g.optind:]
		if len(rest) > 0 && !p.hostSet {
			if err := p.destination(rest[0]); err != nil {
				return err
			}
			if len(rest) > 1 && !terminated {
				cargs = rest
				continue
			}
			rest = rest[1:]
		}
		return p.finish(rest)
	}
}

func (p *parser) scan(g *getopt) *Error {
	for !p.stop {
		opt, arg, done, err := g.next()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		if err := p.flag(opt, arg); err != nil {
			return err
		}
	}
	return nil
}

// finish runs the checks ssh.c makes between option parsing and reading
// the configuration files, in ssh's order.
func (p *parser) finish(rest []string) *Error {
	if !p.hostSet {
		return usageErr("")
	}
	if u, ok := p.cfg.Get("user"); ok && !validRuser(u) {
		return fatalErr("remote username contains invalid characters")
	}
	if !validHostname(p.o.Host) {
		return fatalErr("hostname contains invalid characters")
	}
	if len(rest) == 0 && p.sessionType() == "subsystem" {
		return &Error{Msg: "You must specify a subsystem to invoke.", ShowUsage: true, Plain: true}
	}
	if p.o.Syslog && p.o.LogFile != "" {
		return fatalErr("Can't specify both -y and -E")
	}
	p.o.Command = strings.Join(rest, " ")
	return nil
}

func (p *parser) sessionType() string {
	v, _ := p.cfg.Get("sessiontype")
	return v
}

// derive fills the Options fields that mirror Config values.
func (p *parser) derive() {
	get := func(k string) string { v, _ := p.cfg.Get(k); return v }
	p.o.Subsystem = get("sessiontype") == "subsystem"
	p.o.NoCommand = get("sessiontype") == "none"
	p.o.NoStdin = get("stdinnull") == "yes"
	p.o.Background = get("forkafterauthentication") == "yes"
	p.o.Quiet = get("loglevel") == "quiet"
	switch get("requesttty") {
	case "no":
		p.o.TTY = TTYNo
	case "yes":
		p.o.TTY = TTYYes
	case "force":
		p.o.TTY = TTYForce
	}
}
