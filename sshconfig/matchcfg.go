package sshconfig

import (
	"fmt"
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// matchLine evaluates the criteria of a Match line like readconf.c's
// match_cfg_line: 1 matched, 0 not, -1 malformed (with ssh's messages).
func (p *parser) matchLine(src source, args []string) (int, []string) {
	host, err := p.matchHost()
	if err != nil {
		return -1, []string{err.Error()}
	}
	ruser := p.opts.Get("user")
	if ruser == "" {
		ruser = p.in.LocalUser
	}
	result, attributes := 1, 0
	for i := 0; i < len(args); i++ {
		attr := args[i]
		negate := strings.HasPrefix(attr, "!")
		if negate {
			attr = attr[1:]
		}
		if strings.EqualFold(attr, "all") {
			if attributes > 1 || i+1 < len(args) {
				return -1, []string{lineMsg(src.file, src.line,
					"'%s' cannot be combined with other Match attributes", args[i])}
			}
			if result == 1 && negate {
				result = 0
			}
			return result, nil
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
		if i+1 >= len(args) || args[i+1] == "" {
			return -1, []string{fmt.Sprintf("Missing Match criteria for %s", attr)}
		}
		i++
		arg := args[i]
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
			// Running commands is out of scope: never matches.
			p.logf("%s line %d: Match exec %q treated as not matching", src.file, src.line, arg)
			r = false
		default:
			return -1, []string{fmt.Sprintf("Unsupported Match attribute %s", attr)}
		}
		if r == negate {
			result = 0
		}
	}
	if attributes == 0 {
		return -1, []string{"One or more attributes required for Match"}
	}
	return result, nil
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
