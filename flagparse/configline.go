package flagparse

import (
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

const linePrefix = "command-line line 0: "

// MitogenSteps is the Config key that holds fakessh's own -o options, in command-line order:
// each value is "become METHOD[:USER]" or "container RUNTIME NAME" (or "container exec ARGV...").
// Their keywords have a dot, which no OpenSSH keyword has, so they can never clash with one.
const MitogenSteps = "mitogen.steps"

// mitogenKeys are fakessh's own -o keywords, lowercased, and the step each gives.
var mitogenKeys = map[string]string{"mitogen.become": "become", "mitogen.container": "container"}

func lineErr(msg string) *Error { return fatalErr(linePrefix + msg) }

// configLine is readconf.c's process_config_line for an -o argument.
func (p *parser) configLine(line string) *Error {
	kw, str := sshopt.SplitLine(line)
	if kw == "" {
		return nil
	}
	if str == "" {
		return lineErr("no argument after keyword \"" + kw + "\"")
	}
	if step, ok := mitogenKeys[kw]; ok {
		p.cfg.add(MitogenSteps, step+" "+str)
		return nil
	}
	k, known := sshopt.LookupKeyword(kw)
	if !known {
		if ig, ok := p.cfg.Get("ignoreunknown"); ok && sshopt.MatchPatternList(kw, ig, true) == 1 {
			return nil
		}
		return fatalErr("command-line: line 0: Bad configuration option: " + kw)
	}
	args, ok := sshopt.SplitArgs(str)
	if !ok {
		return lineErr("invalid quotes")
	}
	key := k.Name
	l := &cline{p: p, kw: kw, key: key, args: args, raw: str}
	if err := l.apply(k.Kind); err != nil {
		return err
	}
	if len(l.args) > 0 {
		return lineErr("keyword " + kw + " extra arguments at end of line")
	}
	return nil
}

// cline is one -o line being applied: args are consumed as readconf.c's
// argv_next does, and anything left over is an error.
type cline struct {
	p       *parser
	kw, key string
	args    []string
	raw     string
}

// next returns the next argument; ok is false when there is none.
func (l *cline) next() (string, bool) {
	if len(l.args) == 0 {
		return "", false
	}
	a := l.args[0]
	l.args = l.args[1:]
	return a, true
}

// need returns the next argument or the "Missing argument." error.
func (l *cline) need() (string, *Error) {
	a, ok := l.next()
	if !ok || a == "" {
		return "", lineErr("Missing argument.")
	}
	return a, nil
}

func (l *cline) cfg() Config { return l.p.cfg }

func (l *cline) apply(k sshopt.Kind) *Error {
	switch k {
	case sshopt.KIgnore, sshopt.KDeprecated:
		l.args = nil
	case sshopt.KUnsupported:
		l.args = nil
		l.p.o.Warnings = append(l.p.o.Warnings, linePrefix+"Unsupported option \""+l.kw+"\"")
	case sshopt.KHost, sshopt.KMatch:
		return fatalErr("Host directive not supported as a command-line option")
	case sshopt.KInclude:
		return fatalErr("Include directive not supported as a command-line option")
	case sshopt.KFlag:
		return l.multi(sshopt.Multistates["flag"])
	case sshopt.KMulti:
		return l.multi(sshopt.Multistates[l.key])
	case sshopt.KString:
		a, err := l.need()
		if err == nil {
			l.cfg().setFirst(l.key, a)
		}
		return err
	case sshopt.KStrings:
		return l.strings()
	case sshopt.KCommand:
		// ProxyCommand is ignored after a ProxyJump, which set it to none.
		l.args = nil
		l.cfg().setFirst(l.key, sshopt.SkipSet(l.raw, sshopt.Whitespace+"="))
	default:
		return l.applyValue(k)
	}
	return nil
}

// multi parses a multistate value (readconf.c's parse_multistate).
func (l *cline) multi(states map[string]string) *Error {
	a, ok := l.next()
	if !ok {
		return lineErr("missing argument.\n" + linePrefix + "unsupported option \"(null)\".")
	}
	if a == "" {
		return lineErr("missing argument.\n" + linePrefix + "unsupported option \"\".")
	}
	v, ok := states[sshopt.ASCIILower(a)]
	if !ok {
		return lineErr("unsupported option \"" + a + "\".")
	}
	l.cfg().setFirst(l.key, v)
	return nil
}

// strings stores every argument, as readconf.c's parse_char_array.
func (l *cline) strings() *Error {
	var vals []string
	for {
		a, ok := l.next()
		if !ok {
			break
		}
		if a == "" {
			return lineErr("keyword " + l.kw + " empty argument")
		}
		if strings.EqualFold(a, "none") && (len(vals) > 0 || len(l.args) > 0) {
			return lineErr("keyword " + l.kw + " \"none\" argument must appear alone.")
		}
		vals = append(vals, a)
	}
	if len(vals) > 0 {
		l.cfg().setFirst(l.key, vals...)
	}
	return nil
}
