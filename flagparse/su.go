package flagparse

// suOptions is util-linux 2.38 su's getopt_long table
// (login-utils/su-common.c): "c:fg:G:lmpPs:u:hVw:", glibc's default
// PERMUTE ordering, so options may follow the user ("su postgres -c cmd").
var suOptions = gnuOptions{
	short:   "c:fg:G:lmpPs:u:hVw:",
	permute: true,
	long: []longOpt{
		{"command", requiredArg, "c"},
		{"session-command", requiredArg, "session-command"},
		{"fast", noArg, "f"},
		{"login", noArg, "l"},
		{"preserve-environment", noArg, "p"},
		{"pty", noArg, "P"},
		{"shell", requiredArg, "s"},
		{"group", requiredArg, "g"},
		{"supp-group", requiredArg, "G"},
		{"user", requiredArg, "u"},
		{"whitelist-environment", requiredArg, "w"},
		{"help", noArg, "h"},
		{"version", noArg, "V"},
	},
}

// suArgs is what su_main gathers from its options.
type suArgs struct {
	b          Become
	hasCommand bool
	session    bool   // --session-command
	pty        bool   // -P
	exclusive  string // the first of -m, -p, -w seen, for su's exclusion rows
}

func parseSu(argv []string) (*Become, error) {
	a := &suArgs{b: Become{Method: "su", Program: argv[0], User: "root"}}
	s := newGnuScanner(&suOptions, argv[1:])
	for {
		o, done, gerr := s.next()
		if gerr != nil {
			return nil, usageRefused("su", "%s", gerr.msg)
		}
		if done {
			break
		}
		if err := a.option(o); err != nil {
			return nil, err
		}
	}
	return a.finish(s.operands())
}

func (a *suArgs) option(o gnuOpt) error {
	if err := a.exclude(o.id); err != nil {
		return err
	}
	b := &a.b
	switch o.id {
	case "c":
		b.ShellCommand, a.hasCommand = o.arg, true
	case "session-command":
		b.ShellCommand, a.hasCommand, a.session = o.arg, true, true
	case "f":
		b.Fast = true
	case "g":
		b.Group = o.arg
	case "G":
		b.SuppGroups = append(b.SuppGroups, o.arg)
	case "l":
		b.Login = true
	case "m", "p":
		b.PreserveEnv = true
	case "w":
		for _, name := range splitNonEmpty(o.arg) {
			b.PreserveEnvList = append(b.PreserveEnvList, name)
		}
	case "P":
		a.pty = true
	case "s":
		b.ShellPath = o.arg
	case "u":
		return usageRefused("su", "-u is for runuser only")
	case "h":
		return notHonoured("su", "%s prints help", o.spell)
	case "V":
		return notHonoured("su", "%s prints the version", o.spell)
	}
	return nil
}

// exclude is su's table of mutually exclusive options: -m with -w, -p with -w.
func (a *suArgs) exclude(id string) error {
	if id != "m" && id != "p" && id != "w" {
		return nil
	}
	if a.exclusive == "" || a.exclusive == id {
		a.exclusive = id
		return nil
	}
	if id != "w" && a.exclusive != "w" {
		return nil // -m and -p sit in different rows: both may be given
	}
	return usageRefused("su", "mutually exclusive arguments: -m or -p, and -w")
}

// finish reads the operands ([-] [user [args...]]) and decides.
func (a *suArgs) finish(operands []string) (*Become, error) {
	b := &a.b
	if len(operands) > 0 && operands[0] == "-" {
		b.Login = true
		operands = operands[1:]
	}
	if len(operands) > 0 {
		if operands[0] == "" {
			return nil, usageRefused("su", "user  does not exist")
		}
		b.User = operands[0]
	}
	if len(operands) > 1 {
		b.ShellArgs = operands[1:]
	}
	switch {
	case a.pty:
		return nil, notHonoured("su", "-P runs the shell on a new pseudo-terminal")
	case a.session:
		return nil, notHonoured("su", "--session-command keeps the caller's session")
	case b.Login && b.PreserveEnv:
		return nil, notHonoured("su", "-l ignores -m/-p with a warning")
	case !a.hasCommand:
		return nil, notHonoured("su", "no -c command: the shell is interactive or reads its arguments as a script")
	}
	return b, nil
}

// SuShellArgv is the argv util-linux su executes shell with: "-sh" for
// a login, -f, then -c and the command, then the words after the user.
func (b *Become) SuShellArgv(shell string) []string {
	base := shell
	for i := len(shell) - 1; i >= 0; i-- {
		if shell[i] == '/' {
			base = shell[i+1:]
			break
		}
	}
	if b.Login {
		base = "-" + base
	}
	argv := []string{base}
	if b.Fast {
		argv = append(argv, "-f")
	}
	argv = append(argv, "-c", b.ShellCommand)
	return append(argv, b.ShellArgs...)
}

// splitNonEmpty is util-linux strv_split(str, ","): the non-empty fields.
func splitNonEmpty(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
