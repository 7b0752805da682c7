package sshconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/mitogen-go/mitogend/internal/sshopt"
	"github.com/mitogen-go/mitogend/internal/syserr"
)

// DefaultSystemConfig is where ssh reads its system-wide configuration.
const DefaultSystemConfig = "/etc/ssh/ssh_config"

// systemDir anchors relative Include paths of the system configuration.
const systemDir = "/etc/ssh"

// maxIncludeDepth is READCONF_MAX_DEPTH.
const maxIncludeDepth = 16

// Input is what Resolve needs to know about one ssh invocation.
type Input struct {
	Host    string  // destination as typed, without user@ (matched by Host lines)
	Cmdline Options // options from the command line, already first-wins

	// ConfigFile is the -F argument. "" reads ~/.ssh/config and then
	// SystemConfig; any other value is the only file read, as with ssh -F
	// (so the system file is skipped); "none" reads no file at all.
	ConfigFile string

	Home, LocalUser string

	SystemConfig string // "" = /etc/ssh/ssh_config

	// StdioForward is ssh -W: ClearAllForwardings and ExitOnForwardFailure then default to
	// yes, as ssh.c sets them when neither the command line nor the files did.
	StdioForward bool

	// Exec runs the commands of "Match exec" lines, as ssh does, in the caller's
	// environment (ShellExec). Nil runs nothing: such a criterion never matches.
	Exec ExecFunc

	// Getenv is the caller's environment, for the check ssh makes of an IdentityAgent's
	// ${NAME} while parsing (ExpandEnv does the expansions). Nil: only names are checked.
	Getenv Getenv

	// Logf receives what ssh would log but not fail on, such as
	// "Unsupported option" lines. May be nil.
	Logf func(format string, args ...any)
}

// Resolve merges in.Cmdline with the configuration files for in.Host.
func Resolve(in Input) (Options, error) {
	p := &parser{in: in, opts: Options{}, host: in.Host}
	if err := p.cmdline(); err != nil {
		return nil, err
	}
	if err := p.readAll(); err != nil {
		return nil, err
	}
	if p.wantFinal {
		// ssh re-reads everything once more with the resolved host name,
		// letting "Match final" and "Match canonical" blocks apply.
		hn, err := p.matchHost()
		if err != nil {
			return nil, err
		}
		hn = lowerHost(hn)
		p.opts["hostname"] = []string{hn}
		p.host, p.final = hn, true
		if err := p.readAll(); err != nil {
			return nil, err
		}
	}
	p.implied()
	return p.opts, nil
}

// implied is what ssh.c and fill_default_options derive once the files are read: -W's
// defaults, and ClearAllForwardings dropping every forward, the command line's too.
func (p *parser) implied() {
	if p.in.StdioForward {
		for _, k := range []string{"clearallforwardings", "exitonforwardfailure"} {
			if !p.opts.has(k) {
				p.opts[k] = []string{"yes"}
			}
		}
	}
	if p.opts.Get("clearallforwardings") == "yes" {
		for _, k := range []string{"localforward", "remoteforward", "dynamicforward"} {
			delete(p.opts, k)
		}
	}
}

type parser struct {
	in        Input
	opts      Options
	host      string // what Host lines are matched against
	final     bool   // in the final pass
	wantFinal bool   // a "Match final" was seen
}

// source says where a line comes from; it carries readconf.c's flags.
type source struct {
	file       string
	line       int
	user       bool // SSHCONF_USERCONF: relative includes live in ~/.ssh
	neverMatch bool // inside an include reached from an inactive block
	cmdline    bool
}

func (p *parser) logf(format string, args ...any) {
	if p.in.Logf != nil {
		p.in.Logf(format, args...)
	}
}

func (p *parser) readAll() error {
	switch p.in.ConfigFile {
	case "none":
		return nil
	case "":
		if p.in.Home != "" {
			user := filepath.Join(p.in.Home, ".ssh", "config")
			if _, err := p.readFile(user, true, true, false, nil, 0); err != nil {
				return err
			}
		}
		sys := p.in.SystemConfig
		if sys == "" {
			sys = DefaultSystemConfig
		}
		_, err := p.readFile(sys, false, false, false, nil, 0)
		return err
	default:
		found, err := p.readFile(p.in.ConfigFile, true, false, false, nil, 0)
		if err == nil && !found {
			err = &ConfigError{File: p.in.ConfigFile, Err: fs.ErrNotExist, Messages: []string{
				fmt.Sprintf("Can't open user config file %s: %s", p.in.ConfigFile, syserr.Text(fs.ErrNotExist))}}
		}
		return err
	}
}

// readFile processes one file. active is shared with an including file
// (nil starts a fresh top-level file); found is false when it does not exist.
func (p *parser) readFile(path string, user, checkPerm, neverMatch bool, active *bool, depth int) (found bool, err error) {
	if depth > maxIncludeDepth {
		return false, &ConfigError{File: path, Messages: []string{"Too many recursive configuration includes"}}
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if errors.Is(err, syscall.EISDIR) {
		data, err = nil, nil // ssh opens a directory as a file and reads no line from it
	}
	if err != nil {
		return false, err
	}
	if checkPerm {
		if msg := permProblem(path); msg != "" {
			return true, &ConfigError{File: path, Messages: []string{msg}}
		}
	}
	if active == nil {
		on := true
		active = &on
	}
	var msgs []string
	bad := 0
	for i, text := range strings.Split(string(data), "\n") {
		src := source{file: path, line: i + 1, user: user, neverMatch: neverMatch}
		errs, err := p.line(src, text, active, depth)
		msgs = append(msgs, errs...)
		if err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				ce.Messages = append(msgs, ce.Messages...)
				return true, ce
			}
			return true, err
		}
		if len(errs) > 0 {
			bad++
		}
	}
	if bad > 0 {
		msgs = append(msgs, fmt.Sprintf("%s: terminating, %d bad configuration options", path, bad))
		return true, &ConfigError{File: path, Line: firstBadLine(msgs), Messages: msgs}
	}
	return true, nil
}

// firstBadLine recovers the line number of the first message for callers
// that branch on it.
func firstBadLine(msgs []string) int {
	for _, m := range msgs {
		var n int
		if i := strings.Index(m, " line "); i >= 0 {
			if _, err := fmt.Sscanf(m[i+6:], "%d", &n); err == nil {
				return n
			}
		}
	}
	return 0
}

// cmdline feeds the command-line options through the same checks as file
// lines, as ssh does for -o. Values are words already split and unquoted
// (flagparse.Config's shape): a keyword's values form one line, except for
// accumulating keywords, where each value is a line of its own. Keys are
// visited in sorted order so that errors are deterministic, except that
// ProxyJump goes first: -J also sets ProxyCommand none (as ssh.c does), and
// of the two, the first one seen wins.
func (p *parser) cmdline() error {
	keys := make([]string, 0, len(p.in.Cmdline))
	for k := range p.in.Cmdline {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == "proxyjump") != (keys[j] == "proxyjump") {
			return keys[i] == "proxyjump"
		}
		return keys[i] < keys[j]
	})
	on := true
	src := source{file: "command-line", cmdline: true, user: true}
	for _, k := range keys {
		name, vals := strings.ToLower(k), p.in.Cmdline[k]
		kw, ok := lookup(name)
		if !ok {
			return &ConfigError{File: src.file, Messages: []string{
				fmt.Sprintf("command-line: line 0: Bad configuration option: %s", name)}}
		}
		lines := [][]string{vals}
		switch kw.kind {
		case kFile, kForward, kSendEnv:
			lines = nil
			for _, v := range vals {
				lines = append(lines, []string{v})
			}
		case kCommand, kJump:
			lines = [][]string{vals[:min(1, len(vals))]}
		}
		for _, args := range lines {
			if len(args) == 0 {
				continue
			}
			if errs := p.directive(src, name, kw, args, strings.Join(args, " "), &on, 0); len(errs) > 0 {
				return &ConfigError{File: src.file, Messages: errs}
			}
		}
	}
	return nil
}

// line processes one line of a file. It returns the messages of a bad line
// and, separately, errors that stop ssh at once (bad includes).
func (p *parser) line(src source, text string, active *bool, depth int) ([]string, error) {
	name, rest := sshopt.SplitLine(text)
	if name == "" {
		return nil, nil
	}
	if rest == "" {
		return []string{lineMsg(src.file, src.line, "no argument after keyword %q", name)}, nil
	}
	kw, ok := lookup(name)
	if !ok {
		if ig := p.opts.Get("ignoreunknown"); ig != "" && sshopt.MatchPatternList(name, ig, true) == 1 {
			return nil, nil
		}
		return []string{fmt.Sprintf("%s: line %d: Bad configuration option: %s", src.file, src.line, name)}, nil
	}
	args, ok := sshopt.SplitArgs(rest)
	if !ok {
		return []string{lineMsg(src.file, src.line, "invalid quotes")}, nil
	}
	if kw.kind == kInclude && !src.cmdline {
		return p.include(src, name, args, active, depth)
	}
	if kw.kind == kMatch && !src.cmdline {
		return p.matchDirective(src, rest, active)
	}
	return p.directive(src, name, kw, args, rest, active, depth), nil
}
