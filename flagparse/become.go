package flagparse

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// The three verdicts of ParseBecome besides success; a *BecomeError
// wraps exactly one of them, so callers test with errors.Is.
var (
	// ErrNotBecome: argv[0] is not sudo, doas or su.
	ErrNotBecome = errors.New("not a become command")
	// ErrNotHonoured: the tool accepts the command line, but running it in
	// a persistent become context would not do exactly what the tool does.
	ErrNotHonoured = errors.New("cannot be honoured in a persistent become context")
	// ErrUsage: the tool itself refuses the command line (unknown option,
	// missing argument, conflicting options) before running anything.
	ErrUsage = errors.New("refused by the tool")
)

// BecomeError is ParseBecome's error: which tool, why, and the verdict.
type BecomeError struct {
	Method string // "sudo", "doas", "su", or "" for ErrNotBecome
	Reason string // what in the command line led to the verdict
	Err    error  // ErrNotBecome, ErrNotHonoured or ErrUsage
}

func (e *BecomeError) Error() string {
	if e.Method == "" {
		return "flagparse: " + e.Reason + ": " + e.Err.Error()
	}
	return "flagparse: " + e.Method + ": " + e.Reason + ": " + e.Err.Error()
}

func (e *BecomeError) Unwrap() error { return e.Err }

func notHonoured(method, format string, args ...any) error {
	return &BecomeError{Method: method, Reason: fmt.Sprintf(format, args...), Err: ErrNotHonoured}
}

func usageRefused(method, format string, args ...any) error {
	return &BecomeError{Method: method, Reason: fmt.Sprintf(format, args...), Err: ErrUsage}
}

// Become is a sudo, doas or su command line the daemon can run in a
// persistent become context: the tool's verdict on its options, with
// nothing looked up (users, groups, shells and policy stay names).
type Become struct {
	Method  string // "sudo", "doas" or "su"
	Program string // argv[0] as given ("sudo", "/usr/bin/sudo")

	// Who the command runs as.
	User        string   // target user as given; "root" when none is
	DefaultUser bool     // sudo without -u: the target is sudoers' runas_default
	Group       string   // sudo -g, su -g: the primary group as given
	SuppGroups  []string // su -G, in order
	// What changes the command's environment or directory.
	SetHome         bool     // sudo -H
	PreserveEnv     bool     // sudo -E or --preserve-env; su -m, -p, --preserve-environment
	PreserveEnvList []string // sudo --preserve-env=list; su -w list (names, in order)
	Env             []string // sudo VAR=value words, in order
	Login           bool     // sudo -i; su -l, -, --login
	Shell           bool     // sudo -s: the command runs through $SHELL -c
	ShellPath       string   // su -s: the shell su runs
	Dir             string   // sudo -D
	PreserveGroups  bool     // sudo -P
	Fast            bool     // su -f: the shell gets -f

	// Authentication only: they change how the tool asks, not what runs.
	NonInteractive    bool   // sudo -n, doas -n
	PasswordFromStdin bool   // sudo -S
	AskPass           bool   // sudo -A
	Bell              bool   // sudo -B
	ResetTimestamp    bool   // sudo -k with a command
	NoUpdate          bool   // sudo -N
	Prompt            string // sudo -p
	HasPrompt         bool   // sudo -p was given (an empty prompt is allowed)

	// What runs.
	Command      []string // sudo, doas: the command's argv, a suffix of the input
	ShellCommand string   // su -c: the string the target's shell runs with -c
	ShellArgs    []string // su: the words after the user, the shell's $0 $1... after -c
}

// ParseBecome reads argv as sudo 1.9.13, OpenDoas 6.8.2 or util-linux
// 2.38 su would, choosing the grammar by the base name of argv[0]. It
// returns a *BecomeError wrapping ErrNotBecome, ErrUsage or
// ErrNotHonoured when the command cannot run in a become context.
func ParseBecome(argv []string) (*Become, error) {
	if len(argv) == 0 {
		return nil, &BecomeError{Reason: "empty command", Err: ErrNotBecome}
	}
	switch path.Base(argv[0]) {
	case "sudo":
		return parseSudo(argv)
	case "sudoedit":
		return nil, notHonoured("sudo", "sudoedit edits files")
	case "doas":
		return parseDoas(argv)
	case "su":
		return parseSu(argv)
	}
	return nil, &BecomeError{Reason: strconv.Quote(argv[0]), Err: ErrNotBecome}
}

// Key names what must match for two calls to share one become context:
// the tool, the target and every option that changes the identity,
// environment or directory the command gets. The authentication options
// and the command are not in it.
func (b *Become) Key() string {
	var k strings.Builder
	field := func(name string, v any) {
		if k.Len() > 0 {
			k.WriteByte(' ')
		}
		switch v := v.(type) {
		case string:
			fmt.Fprintf(&k, "%s=%q", name, v)
		case bool:
			fmt.Fprintf(&k, "%s=%t", name, v)
		case []string:
			fmt.Fprintf(&k, "%s=%q", name, v)
		}
	}
	field("method", b.Method)
	field("program", b.Program)
	field("user", b.User)
	field("default-user", b.DefaultUser)
	field("group", b.Group)
	field("supp-groups", b.SuppGroups)
	field("set-home", b.SetHome)
	field("preserve-env", b.PreserveEnv)
	field("preserve-env-list", b.PreserveEnvList)
	field("env", b.Env)
	field("login", b.Login)
	field("shell", b.Shell)
	field("shell-path", b.ShellPath)
	field("dir", b.Dir)
	field("preserve-groups", b.PreserveGroups)
	field("fast", b.Fast)
	return k.String()
}
