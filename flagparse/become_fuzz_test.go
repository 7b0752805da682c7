package flagparse

import (
	"errors"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzSplitCommand checks SplitCommand's pure properties: it is total,
// never accepts a command with an unquoted metacharacter, and QuoteCommand
// gives back a command it splits into the same words.
func FuzzSplitCommand(f *testing.F) {
	for _, tc := range splitCases {
		f.Add(tc.cmd)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		argv, ok := SplitCommand(cmd)
		if !ok {
			if argv != nil {
				t.Fatalf("SplitCommand(%q) refused but returned %q", cmd, argv)
			}
			return
		}
		if len(argv) == 0 {
			t.Fatalf("SplitCommand(%q) accepted no words", cmd)
		}
		if c, at := unquotedSpecial(cmd); at >= 0 {
			t.Fatalf("SplitCommand(%q) = %q, but %q at %d is unquoted", cmd, argv, c, at)
		}
		back, ok := SplitCommand(QuoteCommand(argv))
		if !ok || !reflect.DeepEqual(back, argv) {
			t.Fatalf("SplitCommand(QuoteCommand(%q)) = %q, %v", argv, back, ok)
		}
	})
}

// unquotedSpecial finds a byte the shell would interpret, outside quotes
// and backslashes (or a $ or ` inside double quotes): a scan of its own,
// so as not to check SplitCommand against itself.
func unquotedSpecial(cmd string) (byte, int) {
	for i := 0; i < len(cmd); i++ {
		switch c := cmd[i]; c {
		case '\\':
			i++
		case '\'':
			i += strings.IndexByte(cmd[i+1:], '\'') + 1
		case '"':
			for i++; i < len(cmd) && cmd[i] != '"'; i++ {
				if cmd[i] == '$' || cmd[i] == '`' {
					return cmd[i], i
				}
				if cmd[i] == '\\' {
					i++
				}
			}
		default:
			if strings.IndexByte("|&;<>()$`*?[]{}~\n", c) >= 0 {
				return c, i
			}
		}
	}
	return 0, -1
}

func FuzzParseSudo(f *testing.F) { fuzzBecome(f, "sudo", sudoCases) }
func FuzzParseSu(f *testing.F)   { fuzzBecome(f, "su", suCases) }
func FuzzParseDoas(f *testing.F) { fuzzBecome(f, "doas", doasCases) }

// fuzzBecome checks one grammar: the input is the arguments after the
// tool's name, NUL-separated. ParseBecome is total and deterministic, every
// error is a *BecomeError wrapping one verdict, and a Become is coherent:
// sudo's and doas's Command is a non-empty suffix of argv, su's a -c.
func fuzzBecome(f *testing.F, tool string, cases []becomeCase) {
	for _, c := range cases {
		f.Add(strings.Join(c.argv[1:], "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		argv := append([]string{tool}, strings.Split(joined, "\x00")...)
		if joined == "" {
			argv = argv[:1]
		}
		b, err := ParseBecome(argv)
		again, err2 := ParseBecome(argv)
		if !reflect.DeepEqual(b, again) || (err == nil) != (err2 == nil) {
			t.Fatalf("ParseBecome(%q) is not deterministic", argv)
		}
		if err != nil {
			checkBecomeError(t, argv, b, err)
			return
		}
		if b.Method != path.Base(tool) || b.Program != tool || b.User == "" {
			t.Fatalf("ParseBecome(%q) = %+v", argv, b)
		}
		if b.Method == "su" {
			if b.Command != nil || b.ShellArgs != nil && !isSubsequence(b.ShellArgs, argv[1:]) {
				t.Fatalf("ParseBecome(%q): su Command %q, ShellArgs %q", argv, b.Command, b.ShellArgs)
			}
			return
		}
		n := len(b.Command)
		if n == 0 || n >= len(argv) || !slices.Equal(b.Command, argv[len(argv)-n:]) {
			t.Fatalf("ParseBecome(%q): Command %q is not a suffix of the arguments", argv, b.Command)
		}
		for _, e := range b.Env {
			if !sudoIsEnvar(e) {
				t.Fatalf("ParseBecome(%q): Env %q is no assignment", argv, e)
			}
		}
	})
}

func checkBecomeError(t *testing.T, argv []string, b *Become, err error) {
	t.Helper()
	var be *BecomeError
	if b != nil || !errors.As(err, &be) || be.Reason == "" {
		t.Fatalf("ParseBecome(%q) = %v, %v", argv, b, err)
	}
	n := 0
	for _, v := range []error{ErrNotBecome, ErrNotHonoured, ErrUsage} {
		if errors.Is(err, v) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("ParseBecome(%q): %v wraps %d verdicts", argv, err, n)
	}
}

// isSubsequence reports whether sub appears in all, in order.
func isSubsequence(sub, all []string) bool {
	for _, w := range all {
		if len(sub) > 0 && sub[0] == w {
			sub = sub[1:]
		}
	}
	return len(sub) == 0
}
