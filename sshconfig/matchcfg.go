package sshconfig

import (
	"fmt"
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// matchLine evaluates the criteria of a Match line like readconf.c's match_cfg_line, reading
// rest with strdelim as it does (not as other keywords' arguments are split): 1 matched, 0 not,
// -1 malformed (with ssh's messages). The error is a failure ssh is fatal on at once (a Match
// exec that could not run). consumed is false when a token was left unread, which the caller
// reports as extra arguments.
func (p *parser) matchLine(src source, rest string) (result int, msgs []string, consumed bool, err error) {
	host, err := p.matchHost()
	if err != nil {
		return -1, []string{err.Error()}, true, nil
	}
	ruser := p.opts.Get("user")
	if ruser == "" {
		ruser = p.in.LocalUser
	}
	d := sshopt.NewDelim(rest)
	result, attributes := 1, 0
	for {
		oattr, ok := d.Next()
		if !ok || oattr == "" {
			break
		}
		if oattr[0] == '#' {
			d.Consume()
			break
		}
		attr := oattr
		negate := strings.HasPrefix(attr, "!")
		if negate {
			attr = attr[1:]
		}
		if strings.EqualFold(attr, "all") {
			arg, ok := d.Next()
			if attributes > 1 || ok && arg != "" && arg[0] != '#' {
				return -1, []string{lineMsg(src.file, src.line,
					"'%s' cannot be combined with other Match attributes", oattr)}, true, nil
			}
			if ok && arg != "" {
				d.Consume()
			}
			if result == 1 && negate {
				result = 0
			}
			return result, nil, d.Consumed(), nil
		}
		attributes++
		if strings.EqualFold(attr, "canonical") || strings.EqualFold(attr, "final") {
			if strings.EqualFold(attr, "final") && !p.final {
				p.wantFinal = true
			}
			if p.final == negate {
				result = 0
			}
			continue
		}
		arg, ok := d.Next()
		if !ok || arg == "" || arg[0] == '#' {
			return -1, []string{fmt.Sprintf("Missing Match criteria for %s", attr)}, true, nil
		}
		var r bool
		switch strings.ToLower(attr) {
		case "host":
			r = matchHostname(host, arg)
		case "originalhost":
			r = matchHostname(p.in.Host, arg)
		case "user":
			r = sshopt.MatchPatternList(ruser, arg, false) == 1
		case "localuser":
			r = sshopt.MatchPatternList(p.in.LocalUser, arg, false) == 1
		case "exec":
			if r, err = p.matchExec(src, arg, host, ruser, result != 1); err != nil {
				return -1, nil, true, err
			}
		default:
			return -1, []string{fmt.Sprintf("Unsupported Match attribute %s", attr)}, true, nil
		}
		if r == negate {
			result = 0
		}
	}
	if attributes == 0 {
		return -1, []string{"One or more attributes required for Match"}, true, nil
	}
	return result, nil, d.Consumed(), nil
}

// matchHost is the name "Match host" compares: HostName so far (with %h
// expanded) or the destination as typed.
func (p *parser) matchHost() (string, error) {
	hn := p.opts.Get("hostname")
	switch {
	case p.final:
		return hn, nil
	case hn == "":
		return p.in.Host, nil
	}
	return percentExpand(hn, map[byte]string{'h': p.in.Host})
}
