package flagparse

import (
	"strconv"
	"strings"
)

// sudoOptions is sudo 1.9.13's getopt_long table (src/parse_args.c, as
// the Debian 12 binary holds it): "+Aa:BbC:c:D:Eeg:Hh::iKklNnPp:R:r:SsT:t:U:u:Vv".
var sudoOptions = gnuOptions{
	short: "Aa:BbC:c:D:Eeg:Hh::iKklNnPp:R:r:SsT:t:U:u:Vv",
	long: []longOpt{
		{"background", noArg, "b"},
		{"preserve-env", optionalArg, "E"},
		{"edit", noArg, "e"},
		{"set-home", noArg, "H"},
		{"login", noArg, "i"},
		{"remove-timestamp", noArg, "K"},
		{"list", noArg, "l"},
		{"preserve-groups", noArg, "P"},
		{"shell", noArg, "s"},
		{"other-user", requiredArg, "U"},
		{"validate", noArg, "v"},
		{"askpass", noArg, "A"},
		{"auth-type", requiredArg, "a"},
		{"bell", noArg, "B"},
		{"close-from", requiredArg, "C"},
		{"login-class", requiredArg, "c"},
		{"chdir", requiredArg, "D"},
		{"group", requiredArg, "g"},
		{"help", noArg, "h"},
		{"host", requiredArg, "host"},
		{"reset-timestamp", noArg, "k"},
		{"no-update", noArg, "N"},
		{"non-interactive", noArg, "n"},
		{"prompt", requiredArg, "p"},
		{"chroot", requiredArg, "R"},
		{"role", requiredArg, "r"},
		{"stdin", noArg, "S"},
		{"command-timeout", requiredArg, "T"},
		{"type", requiredArg, "t"},
		{"user", requiredArg, "u"},
		{"version", noArg, "V"},
	},
}

// sudoMode is parse_args' mode: what sudo was asked to do.
type sudoMode int

const (
	sudoNoMode sudoMode = iota
	sudoRun
	sudoEdit
	sudoHelp
	sudoKill
	sudoInvalidate
	sudoList
	sudoCheck
	sudoValidate
	sudoVersion
)

var sudoModeNames = map[sudoMode]string{
	sudoEdit: "-e edits files", sudoHelp: "-h prints help", sudoKill: "-K removes the timestamp",
	sudoInvalidate: "-k without a command invalidates the timestamp", sudoList: "-l lists privileges",
	sudoCheck: "-l with a command checks it", sudoValidate: "-v validates the timestamp",
	sudoVersion: "-V prints the version",
}

// sudoFlag is parse_args' mode flags, checked against valid_flags.
type sudoFlag int

const (
	flagBackground sudoFlag = 1 << iota
	flagPreserveEnv
	flagResetHome
	flagLoginShell
	flagNonInteractive
	flagPreserveGroups
	flagShell
	flagLongList
)

const (
	sudoDefaultValid = flagBackground | flagPreserveEnv | flagResetHome | flagLoginShell |
		flagNonInteractive | flagPreserveGroups | flagShell
	sudoEditValid     = flagNonInteractive
	sudoListValid     = flagNonInteractive | flagLongList
	sudoValidateValid = flagNonInteractive
)

// sudoArgs is what parse_args gathers before it checks the combination.
type sudoArgs struct {
	mode     sudoMode
	flags    sudoFlag
	valid    sudoFlag
	settings map[string]string // once-only options by letter: u g D p R r t T C U host
	b        Become
}

func parseSudo(argv []string) (*Become, error) {
	a := &sudoArgs{valid: sudoDefaultValid, settings: map[string]string{}}
	a.b = Become{Method: "sudo", Program: argv[0], User: "root", DefaultUser: true}
	args := argv[1:]
	s := newGnuScanner(&sudoOptions, args)
	for {
		o, done, gerr := s.next()
		if gerr != nil {
			return nil, usageRefused("sudo", "%s", gerr.msg)
		}
		if !done {
			if err := a.option(o, s); err != nil {
				return nil, err
			}
			continue
		}
		// An assignment between options joins the command's environment;
		// after "--" (the literal word before, as sudo tests it) it is the command.
		if s.optind < len(args) && s.prev() != "--" && sudoIsEnvar(args[s.optind]) {
			a.b.Env = append(a.b.Env, args[s.optind])
			s.optind++
			continue
		}
		break
	}
	return a.finish(args[s.optind:])
}

func sudoIsEnvar(w string) bool {
	return w != "" && w[0] != '/' && w[0] != '=' && strings.Contains(w, "=")
}

// once records a setting sudo refuses empty (when nonEmpty) or twice.
func (a *sudoArgs) once(key, val string, nonEmpty bool) error {
	if nonEmpty && val == "" {
		return usageRefused("sudo", "empty argument to -%s", key)
	}
	if _, dup := a.settings[key]; dup {
		return usageRefused("sudo", "-%s given twice", key)
	}
	a.settings[key] = val
	return nil
}

// setMode is the exclusive-mode check of -e -h -K -l -v -V.
func (a *sudoArgs) setMode(m sudoMode, valid sudoFlag) error {
	if a.mode != sudoNoMode && a.mode != m {
		return usageRefused("sudo", "only one of the -e, -h, -i, -K, -l, -s, -v or -V options may be specified")
	}
	a.mode, a.valid = m, valid
	return nil
}

func (a *sudoArgs) option(o gnuOpt, s *gnuScanner) error {
	b := &a.b
	switch o.id {
	case "A":
		b.AskPass = true
	case "B":
		b.Bell = true
	case "S":
		b.PasswordFromStdin = true
	case "b":
		a.flags |= flagBackground
	case "H":
		b.SetHome, a.flags = true, a.flags|flagResetHome
	case "i":
		b.Login, a.flags = true, a.flags|flagLoginShell
	case "s":
		b.Shell, a.flags = true, a.flags|flagShell
	case "n":
		b.NonInteractive, a.flags = true, a.flags|flagNonInteractive
	case "P":
		b.PreserveGroups, a.flags = true, a.flags|flagPreserveGroups
	case "E":
		return a.preserveEnv(o)
	case "e":
		return a.setMode(sudoEdit, sudoEditValid)
	case "v":
		return a.setMode(sudoValidate, sudoValidateValid)
	case "V":
		return a.setMode(sudoVersion, 0)
	case "l":
		if a.mode == sudoList {
			a.flags |= flagLongList
		}
		return a.setMode(sudoList, sudoListValid)
	case "K":
		if err := a.setMode(sudoKill, 0); err != nil {
			return err
		}
		return a.ignoreTicket()
	case "k":
		return a.ignoreTicket()
	case "N":
		if b.ResetTimestamp {
			return usageRefused("sudo", "only one of the -K, -k or -N options may be specified")
		}
		b.NoUpdate = true
	case "h":
		return a.hostOrHelp(o, s)
	case "host":
		return a.once("host", o.arg, true)
	case "a", "c":
		return usageRefused("sudo", "%s is not supported on Linux", o.spell)
	case "C":
		if !sudoClosefromOK(o.arg) {
			return usageRefused("sudo", "the argument to -C must be a number greater than or equal to 3")
		}
		return a.once("C", o.arg, false)
	case "p":
		b.Prompt, b.HasPrompt = o.arg, true
		return a.once("p", o.arg, false)
	case "T":
		return a.once("T", o.arg, false)
	default: // u g D R r t U: a non-empty argument, once
		return a.once(o.id, o.arg, true)
	}
	return nil
}

// ignoreTicket is -k (and -K): refused beside -N.
func (a *sudoArgs) ignoreTicket() error {
	if a.b.NoUpdate {
		return usageRefused("sudo", "only one of the -K, -k or -N options may be specified")
	}
	a.b.ResetTimestamp = true
	return nil
}

// preserveEnv is -E and --preserve-env[=list]: a list adds those names'
// values from sudo's own environment; a bare one keeps all of it.
func (a *sudoArgs) preserveEnv(o gnuOpt) error {
	if !o.hasArg {
		a.b.PreserveEnv, a.flags = true, a.flags|flagPreserveEnv
		return nil
	}
	for _, name := range strings.Split(o.arg, ",") {
		if name == "" {
			continue // strtok skips empty fields
		}
		if strings.Contains(name, "=") {
			return usageRefused("sudo", "invalid environment variable name: %s", name)
		}
		a.b.PreserveEnvList = append(a.b.PreserveEnvList, name)
	}
	return nil
}

// hostOrHelp is -h: "-hHOST" names a host, "-h HOST" too when the word
// after a bare "-h" is neither an option nor an assignment; else help.
func (a *sudoArgs) hostOrHelp(o gnuOpt, s *gnuScanner) error {
	if o.hasArg {
		return a.once("host", o.arg, true)
	}
	if s.prev() == "-h" && s.optind < len(s.args) {
		next := s.args[s.optind]
		if !strings.HasPrefix(next, "-") && !sudoIsEnvar(next) {
			if _, dup := a.settings["host"]; dup {
				return usageRefused("sudo", "-h given twice")
			}
			a.settings["host"] = next
			s.optind++
			return nil
		}
	}
	return a.setMode(sudoHelp, 0)
}

// sudoClosefromOK is sudo_strtonum(arg, 3, INT_MAX) != 0: a decimal
// number, after optional blanks and sign, that fills the word.
func sudoClosefromOK(arg string) bool {
	n, err := strconv.ParseInt(strings.TrimLeft(arg, " \t\n\v\f\r"), 10, 64)
	return err == nil && n >= 3 && n <= 1<<31-1
}

// finish is the end of parse_args (the checks of the combination), the
// sudoers refusal of a bare "sudo", then what a become context can honour.
func (a *sudoArgs) finish(cmd []string) (*Become, error) {
	b := &a.b
	if a.mode == sudoNoMode {
		if b.ResetTimestamp && len(cmd) == 0 && a.flags&(flagShell|flagLoginShell) == 0 {
			a.mode, a.valid, b.ResetTimestamp = sudoInvalidate, 0, false
		} else {
			a.mode = sudoRun
		}
	}
	if len(cmd) > 0 && a.mode == sudoList {
		a.mode = sudoCheck
	}
	if err := a.checkCombination(len(cmd)); err != nil {
		return nil, err
	}
	if a.mode != sudoRun {
		return nil, notHonoured("sudo", "%s", sudoModeNames[a.mode])
	}
	if len(cmd) == 0 {
		if a.flags&flagShell == 0 {
			return nil, usageRefused("sudo", "no command") // sudoers: usage unless shell_noargs
		}
		return nil, notHonoured("sudo", "-s or -i without a command runs an interactive shell")
	}
	if err := a.unhonoured(); err != nil {
		return nil, err
	}
	if u, ok := a.settings["u"]; ok {
		b.User, b.DefaultUser = u, false
	}
	b.Group = a.settings["g"]
	b.Dir = a.settings["D"]
	b.Command = cmd
	return b, nil
}

func (a *sudoArgs) checkCombination(argc int) error {
	if a.flags&flagLoginShell != 0 {
		if a.flags&flagShell != 0 {
			return usageRefused("sudo", "you may not specify both the -i and -s options")
		}
		if a.flags&flagPreserveEnv != 0 {
			return usageRefused("sudo", "you may not specify both the -i and -E options")
		}
		a.flags |= flagShell
	}
	_, user := a.settings["u"]
	_, group := a.settings["g"]
	_, listUser := a.settings["U"]
	switch {
	case a.flags&a.valid != a.flags:
		return usageRefused("sudo", "an option not valid in this mode")
	case a.mode == sudoEdit && len(a.b.Env) > 0:
		return usageRefused("sudo", "you may not specify environment variables in edit mode")
	case (user || group) && !a.modeIn(sudoEdit, sudoRun, sudoCheck, sudoValidate):
		return usageRefused("sudo", "-u or -g in this mode")
	case listUser && !a.modeIn(sudoList, sudoCheck):
		return usageRefused("sudo", "the -U option may only be used with the -l option")
	case a.b.PasswordFromStdin && a.b.AskPass:
		return usageRefused("sudo", "the -A and -S options may not be used together")
	case argc == 0 && a.mode == sudoEdit:
		return usageRefused("sudo", "-e without a file")
	case argc > 0 && !a.modeIn(sudoRun, sudoEdit, sudoCheck):
		return usageRefused("sudo", "a command in this mode")
	}
	return nil
}

func (a *sudoArgs) modeIn(modes ...sudoMode) bool {
	for _, m := range modes {
		if a.mode == m {
			return true
		}
	}
	return false
}

// unhonoured names the accepted options a become context cannot honour:
// they change how sudo runs this one command (in the background, on
// another host, under SELinux, a timeout, a chroot or more descriptors).
func (a *sudoArgs) unhonoured() error {
	if a.flags&flagBackground != 0 {
		return notHonoured("sudo", "-b runs the command in the background")
	}
	for _, o := range []struct{ key, why string }{
		{"host", "-h names a remote host"},
		{"r", "-r sets an SELinux role"},
		{"t", "-t sets an SELinux type"},
		{"T", "-T sets a command timeout"},
		{"C", "-C keeps descriptors open"},
		{"R", "-R changes the root directory"},
	} {
		if _, ok := a.settings[o.key]; ok {
			return notHonoured("sudo", "%s", o.why)
		}
	}
	return nil
}

// SudoShellCommand is the string sudo -s and -i hand to the shell's -c
// for a command: each word with every byte but [A-Za-z0-9_$-] escaped
// by a backslash, words joined by spaces. "$" stays bare, so the target
// shell expands it, as it does under the real sudo.
func SudoShellCommand(args []string) string {
	var out strings.Builder
	for i, w := range args {
		if i > 0 {
			out.WriteByte(' ')
		}
		for j := 0; j < len(w); j++ {
			c := w[j]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$') {
				out.WriteByte('\\')
			}
			out.WriteByte(c)
		}
	}
	return out.String()
}
