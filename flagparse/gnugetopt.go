package flagparse

import "strings"

// argKind is how an option takes its argument, as in getopt_long's has_arg.
type argKind int

const (
	noArg       argKind = iota
	requiredArg         // "x:" or required_argument: attached or the next word
	optionalArg         // "x::" or optional_argument: attached only ("-xVAL", "--x=VAL")
)

// longOpt is one entry of a getopt_long table; id is what the parser
// switches on (the short letter it stands for, or a name of its own).
type longOpt struct {
	name string
	arg  argKind
	id   string
}

// gnuOptions is a getopt_long configuration: the short option string
// (without the leading '+', which is order below) and the long table.
type gnuOptions struct {
	short string
	long  []longOpt
	// permute is glibc's default PERMUTE ordering (su); false is
	// REQUIRE_ORDER, a leading '+' in the option string (sudo, doas).
	permute bool
}

// gnuOpt is one option getopt_long returned.
type gnuOpt struct {
	id     string // short letter or long id
	arg    string
	hasArg bool   // false for an absent optional argument
	spell  string // as written, for messages: "-u" or "--user"
}

// gnuErr is getopt_long's complaint, in glibc 2.36's words without the
// program name.
type gnuErr struct{ msg string }

func (e *gnuErr) Error() string { return e.msg }

// gnuScanner is glibc's getopt_long over args (argv without argv[0]).
// Callers may advance optind between calls, as sudo does past an
// environment assignment; glibc resumes at the new index.
type gnuScanner struct {
	opts    *gnuOptions
	args    []string
	optind  int
	cluster string   // the rest of a short-option word being scanned
	skipped []string // PERMUTE: non-options passed over, in order
}

func newGnuScanner(opts *gnuOptions, args []string) *gnuScanner {
	return &gnuScanner{opts: opts, args: args}
}

// prev is argv[optind-1] in C terms: the word the last option came from
// (or its separate argument), "" before the first.
func (s *gnuScanner) prev() string {
	if s.optind == 0 {
		return ""
	}
	return s.args[s.optind-1]
}

// next returns the next option. done reports the end of the options:
// with REQUIRE_ORDER optind is then the first operand (past a "--");
// with PERMUTE, operands() holds every non-option in order.
func (s *gnuScanner) next() (o gnuOpt, done bool, err *gnuErr) {
	if s.cluster != "" {
		o, err := s.short()
		return o, false, err
	}
	for s.optind < len(s.args) {
		a := s.args[s.optind]
		if a == "--" {
			s.optind++
			if s.opts.permute {
				s.skipped = append(s.skipped, s.args[s.optind:]...)
				s.optind = len(s.args)
			}
			return gnuOpt{}, true, nil
		}
		if len(a) < 2 || a[0] != '-' {
			if !s.opts.permute {
				return gnuOpt{}, true, nil
			}
			s.skipped = append(s.skipped, a)
			s.optind++
			continue
		}
		s.optind++
		if strings.HasPrefix(a, "--") {
			o, err := s.longOption(a[2:])
			return o, false, err
		}
		s.cluster = a[1:]
		o, err := s.short()
		return o, false, err
	}
	return gnuOpt{}, true, nil
}

// operands is what PERMUTE leaves after the options, in order.
func (s *gnuScanner) operands() []string {
	return append(s.skipped, s.args[s.optind:]...)
}

func (s *gnuScanner) short() (gnuOpt, *gnuErr) {
	c := s.cluster[0]
	s.cluster = s.cluster[1:]
	o := gnuOpt{id: string(c), spell: "-" + string(c)}
	i := strings.IndexByte(s.opts.short, c)
	if i < 0 || c == ':' || c == ';' {
		s.cluster = ""
		return o, &gnuErr{"invalid option -- '" + string(c) + "'"}
	}
	kind := noArg
	if strings.HasPrefix(s.opts.short[i+1:], "::") {
		kind = optionalArg
	} else if strings.HasPrefix(s.opts.short[i+1:], ":") {
		kind = requiredArg
	}
	switch {
	case kind == noArg:
		return o, nil
	case s.cluster != "":
		o.arg, o.hasArg, s.cluster = s.cluster, true, ""
		return o, nil
	case kind == optionalArg:
		return o, nil
	case s.optind < len(s.args):
		o.arg, o.hasArg = s.args[s.optind], true
		s.optind++
		return o, nil
	}
	return o, &gnuErr{"option requires an argument -- '" + string(c) + "'"}
}

func (s *gnuScanner) longOption(word string) (gnuOpt, *gnuErr) {
	name, val, hasVal := strings.Cut(word, "=")
	lo, err := s.match(name)
	if err != nil {
		return gnuOpt{spell: "--" + name}, err
	}
	o := gnuOpt{id: lo.id, spell: "--" + lo.name}
	switch {
	case hasVal && lo.arg == noArg:
		return o, &gnuErr{"option '--" + lo.name + "' doesn't allow an argument"}
	case hasVal:
		o.arg, o.hasArg = val, true
	case lo.arg == requiredArg && s.optind < len(s.args):
		o.arg, o.hasArg = s.args[s.optind], true
		s.optind++
	case lo.arg == requiredArg:
		return o, &gnuErr{"option '--" + lo.name + "' requires an argument"}
	}
	return o, nil
}

// match finds name in the long table: an exact name, else the one entry
// it abbreviates; several that differ are ambiguous, as in glibc.
func (s *gnuScanner) match(name string) (longOpt, *gnuErr) {
	var found []longOpt
	for _, lo := range s.opts.long {
		if lo.name == name {
			return lo, nil
		}
		if strings.HasPrefix(lo.name, name) {
			found = append(found, lo)
		}
	}
	if len(found) == 0 {
		return longOpt{}, &gnuErr{"unrecognized option '--" + name + "'"}
	}
	for _, lo := range found[1:] {
		if lo.id != found[0].id || lo.arg != found[0].arg {
			msg := "option '--" + name + "' is ambiguous; possibilities:"
			for _, c := range found {
				msg += " '--" + c.name + "'"
			}
			return longOpt{}, &gnuErr{msg}
		}
	}
	return found[0], nil
}
