package sshconfig

import (
	"slices"
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// directive applies one keyword to p.opts when *active, after checking its
// arguments whether active or not (ssh rejects bad lines in any block). It
// returns ssh's messages for a bad line.
func (p *parser) directive(src source, name string, kw keyword, args []string, rest string, active *bool, depth int) []string {
	bad := func(format string, a ...any) []string {
		return []string{lineMsg(src.file, src.line, format, a...)}
	}
	first := ""
	if len(args) > 0 {
		first = args[0]
	}
	key := kw.name
	set := func(vals ...string) {
		if *active && !p.opts.has(key) {
			p.opts[key] = vals
		}
	}
	maxArgs := 1

	switch kw.kind {
	case kHost:
		return p.hostDirective(src, name, args, active)
	case kMatch:
		msgs, _ := p.matchDirective(src, rest, active) // a command line runs no Match: no error
		return msgs
	case kInclude:
		return []string{"Include directive not supported as a command-line option"}
	case kIgnore:
		return nil
	case kDeprecated:
		p.logf("%s line %d: Deprecated option %q", src.file, src.line, name)
		return nil
	case kUnsupported:
		p.logf("%s line %d: Unsupported option %q", src.file, src.line, name)
		return nil

	case kString:
		if first == "" && !(src.cmdline && len(args) == 1) { // ssh -l "" sets an empty User
			return bad("Missing argument.")
		}
		if msg := stringCheck(key, first); msg != "" {
			return bad("%s", msg)
		}
		if key == "identityagent" || key == "forwardagent" && !isFlagWord(first) {
			if logged, msg := agentPathCheck(first, p.in.Getenv); msg != "" {
				return append(logged, bad("%s", msg)...)
			}
		}
		set(first)
	case kFlag, kMulti:
		table := key
		if kw.kind == kFlag {
			table = "flag"
		}
		if len(args) == 0 {
			return append(bad("missing argument."), bad("unsupported option \"(null)\".")...)
		}
		if _, ok := sshopt.Multistate(table, first); !ok {
			return bad("unsupported option %q.", first)
		}
		set(first)
	case kTime:
		if first == "" {
			return bad("missing time value.")
		}
		if first != "none" && sshopt.Convtime(first) < 0 {
			return bad("invalid time value.")
		}
		set(first)
	case kInt:
		if _, msg := sshopt.AtoiErr(first); msg != "" {
			return bad("integer value %s.", msg)
		}
		set(first)
	case kPort:
		if first == "" {
			return bad("Missing argument.")
		}
		if sshopt.A2port(first) <= 0 {
			return bad("Bad port '%s'.", first)
		}
		set(first)
	case kWords:
		for i, a := range args {
			if a == "" {
				return bad("keyword %s empty argument", name)
			}
			if strings.EqualFold(a, "none") && (i > 0 || len(args) > 1) {
				return bad("keyword %s \"none\" argument must appear alone.", name)
			}
		}
		if len(args) > 0 {
			set(args...)
		}
		maxArgs = len(args)
	case kCommand:
		cmd := strings.TrimLeft(rest, sshopt.Whitespace+"=")
		if cmd == "" {
			return bad("Missing argument.")
		}
		// A real ProxyJump makes ssh ignore ProxyCommand; "ProxyJump none" does not.
		if key != "proxycommand" || !p.opts.has("proxyjump") || strings.EqualFold(p.opts.Get("proxyjump"), "none") {
			set(cmd)
		}
		maxArgs = len(args)
	case kJump:
		jump := strings.TrimLeft(rest, sshopt.Whitespace+"=")
		if i := strings.IndexByte(jump, '#'); i >= 0 {
			jump = jump[:i]
		}
		jump = strings.TrimRight(jump, sshopt.Whitespace)
		if jump == "" {
			return bad("Missing argument.")
		}
		if !validJump(jump) {
			return bad("Invalid ProxyJump \"%s\"", strings.TrimLeft(rest, sshopt.Whitespace+"="))
		}
		if !p.opts.has("proxycommand") {
			set(jump)
		}
		maxArgs = len(args)
	case kFile:
		if first == "" {
			return bad("Missing argument.")
		}
		p.appendUnique(key, first, *active)
	case kForward:
		msgs, n := p.forward(src, key, args, *active)
		if msgs != nil {
			return msgs
		}
		maxArgs = n
	case kSendEnv:
		for _, a := range args {
			if a == "" || strings.Contains(a, "=") {
				return bad("Invalid environment name.")
			}
		}
		for _, a := range args {
			p.sendEnv(a, *active)
		}
		maxArgs = len(args)
	case kSetEnv:
		for _, a := range args {
			if !strings.Contains(a, "=") {
				return bad("Invalid SetEnv.")
			}
		}
		if *active && !p.opts.has(key) {
			for _, a := range args {
				p.setEnv(a)
			}
		}
		maxArgs = len(args)
	case kArgs:
		if first == "" {
			return bad("Missing argument.")
		}
		maxArgs = 2
		if len(args) <= maxArgs {
			set(strings.Join(args, " "))
		}
	}
	if len(args) > maxArgs {
		return bad("keyword %s extra arguments at end of line", name)
	}
	return nil
}

func (p *parser) appendUnique(key, v string, active bool) {
	if active && !slices.Contains(p.opts[key], v) {
		p.opts[key] = append(p.opts[key], v)
	}
}

// forward handles LocalForward/RemoteForward/DynamicForward. A config line
// gives listen and target as two words; ssh joins them with ':' so that the
// stored value reads like a -L argument.
func (p *parser) forward(src source, key string, args []string, active bool) ([]string, int) {
	bad := func(msg string) ([]string, int) { return []string{lineMsg(src.file, src.line, "%s", msg)}, 0 }
	if len(args) == 0 || args[0] == "" {
		return bad("Missing argument.")
	}
	remote, dynamic := key == "remoteforward", key == "dynamicforward"
	if f := strings.Fields(args[0]); src.cmdline && len(args) == 1 && len(f) == 2 {
		// flagparse stores -L/-R as `ssh -G` prints them: "listen target", two words in one.
		args = f
	}
	spec, used := args[0], 1
	if src.cmdline && len(args) == 1 && !dynamic {
		// -L and -R give the whole spec as one word; -R port is dynamic.
		_, asRemote := sshopt.ParseForward(spec, false, true)
		dynamic = remote && !asRemote
	} else if !dynamic {
		if len(args) < 2 || args[1] == "" {
			if !remote {
				return bad("Missing target argument.")
			}
			dynamic = true
		} else {
			spec, used = args[0]+":"+args[1], 2
		}
	}
	if _, ok := sshopt.ParseForward(spec, dynamic, remote); !ok {
		return bad("Bad forwarding specification.")
	}
	p.appendUnique(key, spec, active)
	return nil, used
}

// sendEnv adds a name pattern, or removes matching ones for "-pattern".
func (p *parser) sendEnv(a string, active bool) {
	if !active {
		return
	}
	if strings.HasPrefix(a, "-") {
		p.opts["sendenv"] = slices.DeleteFunc(p.opts["sendenv"], func(v string) bool {
			return sshopt.MatchPattern(v, a[1:])
		})
		return
	}
	p.opts["sendenv"] = append(p.opts["sendenv"], a)
}

// setEnv keeps the first value given for each variable name.
func (p *parser) setEnv(a string) {
	name, _, _ := strings.Cut(a, "=")
	for _, v := range p.opts["setenv"] {
		if n, _, _ := strings.Cut(v, "="); n == name {
			return
		}
	}
	p.opts["setenv"] = append(p.opts["setenv"], a)
}

func (p *parser) hostDirective(src source, name string, args []string, active *bool) []string {
	if src.cmdline {
		return []string{"Host directive not supported as a command-line option"}
	}
	for _, a := range args {
		if a == "" {
			return []string{lineMsg(src.file, src.line, "keyword %s empty argument", name)}
		}
	}
	*active = !src.neverMatch && hostLine(p.host, args)
	return nil
}

func (p *parser) matchDirective(src source, rest string, active *bool) ([]string, error) {
	if src.cmdline {
		// sic: ssh reuses the Host message for Match.
		return []string{"Host directive not supported as a command-line option"}, nil
	}
	result, msgs, consumed, err := p.matchLine(src, rest)
	if err != nil {
		return nil, err
	}
	if result < 0 {
		return append(msgs, lineMsg(src.file, src.line, "Bad Match condition")), nil
	}
	*active = !src.neverMatch && result == 1
	if !consumed {
		return []string{lineMsg(src.file, src.line, "keyword match extra arguments at end of line")}, nil
	}
	return nil, nil
}
