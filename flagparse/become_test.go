package flagparse

import (
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"
)

// becomeCase is one command line and the verdict of the real tool on it.
// The words PROBE, TUSER and TGROUP stand for a program that prints what
// it got, a user and a group; the real-binary tests substitute them.
type becomeCase struct {
	argv    []string
	verdict error   // nil (honoured), ErrNotHonoured, ErrUsage or ErrNotBecome
	want    *Become // when honoured; Method and Program are filled in, and User when empty
	probe   []string
	// probe is what PROBE must receive when it differs from Command[1:]
	// (su, where the shell splits ShellCommand).
}

func sv(words ...string) []string { return words }

// expected completes c.want with what every case of its tool shares.
func (c becomeCase) expected() *Become {
	w := *c.want
	if w.Program == "" {
		w.Program = c.argv[0]
	}
	if w.Method == "" {
		w.Method = path.Base(c.argv[0])
	}
	if w.User == "" {
		w.User = "root"
	}
	return &w
}

func checkBecomeCases(t *testing.T, cases []becomeCase) {
	t.Helper()
	for _, c := range cases {
		got, err := ParseBecome(c.argv)
		if c.verdict != nil {
			if !errors.Is(err, c.verdict) {
				t.Errorf("ParseBecome(%q) = %+v, %v; want %v", c.argv, got, err, c.verdict)
			}
			if got != nil {
				t.Errorf("ParseBecome(%q) returned a Become with error %v", c.argv, err)
			}
			var be *BecomeError
			if !errors.As(err, &be) || be.Reason == "" || !strings.HasPrefix(err.Error(), "flagparse: ") {
				t.Errorf("ParseBecome(%q): error %q is not a *BecomeError with a reason", c.argv, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseBecome(%q): %v", c.argv, err)
			continue
		}
		if want := c.expected(); !reflect.DeepEqual(got, want) {
			t.Errorf("ParseBecome(%q) =\n %+v\nwant\n %+v", c.argv, got, want)
		}
	}
}

func TestParseBecomeNotBecome(t *testing.T) {
	checkBecomeCases(t, []becomeCase{
		{argv: sv("/bin/sh", "-c", "sudo ls"), verdict: ErrNotBecome},
		{argv: sv("rsync", "--server"), verdict: ErrNotBecome},
		{argv: sv("sudox", "ls"), verdict: ErrNotBecome},
		{argv: sv("/usr/bin/sudoedit", "/etc/motd"), verdict: ErrNotHonoured},
	})
	if _, err := ParseBecome(nil); !errors.Is(err, ErrNotBecome) {
		t.Errorf("ParseBecome(nil) = %v; want ErrNotBecome", err)
	}
}

// TestAnsibleWrapperIsNotBecome: the /bin/sh -c '... && sleep 0' wrapper
// splits into literal words and is then refused as no become command.
func TestAnsibleWrapperIsNotBecome(t *testing.T) {
	argv, ok := SplitCommand(ansibleSudo)
	if !ok {
		t.Fatalf("SplitCommand(%q) refused", ansibleSudo)
	}
	if _, err := ParseBecome(argv); !errors.Is(err, ErrNotBecome) {
		t.Fatalf("ParseBecome(%q) = %v; want ErrNotBecome", argv, err)
	}
}

// TestRsyncPathSudo is the command rsync --rsync-path='sudo -u postgres
// rsync' sends, from the string to the Become.
func TestRsyncPathSudo(t *testing.T) {
	argv, ok := SplitCommand("sudo -u postgres rsync --server -logDtpre.iLsfxCIvu . /var/lib/postgresql/")
	if !ok {
		t.Fatal("SplitCommand refused the rsync command")
	}
	b, err := ParseBecome(argv)
	if err != nil {
		t.Fatal(err)
	}
	if b.User != "postgres" || !reflect.DeepEqual(b.Command, argv[3:]) {
		t.Fatalf("got user %q command %q", b.User, b.Command)
	}
}

func TestBecomeKey(t *testing.T) {
	key := func(words ...string) string {
		t.Helper()
		b, err := ParseBecome(words)
		if err != nil {
			t.Fatalf("ParseBecome(%q): %v", words, err)
		}
		return b.Key()
	}
	same := [][2][]string{
		{sv("sudo", "-u", "pg", "ls"), sv("sudo", "-n", "-S", "-p", "pw:", "-k", "-u", "pg", "rsync", "--server")},
		{sv("sudo", "-u", "pg", "ls"), sv("sudo", "--user=pg", "-A", "-B", "-N", "ls")},
		{sv("sudo", "-E", "ls"), sv("sudo", "--preserve-env", "ls")},
		{sv("su", "-", "pg", "-c", "ls"), sv("su", "-l", "pg", "-c", "rsync")},
		{sv("su", "-m", "pg", "-c", "ls"), sv("su", "-p", "pg", "-c", "ls")},
		{sv("doas", "-u", "pg", "ls"), sv("doas", "-n", "-u", "pg", "rsync")},
		{sv("su", "-w", "A,B", "pg", "-c", "ls"), sv("su", "-w", "A", "-w", ",B,", "pg", "-c", "ls")},
	}
	for _, p := range same {
		if a, b := key(p[0]...), key(p[1]...); a != b {
			t.Errorf("keys differ:\n %q: %s\n %q: %s", p[0], a, p[1], b)
		}
	}
	differ := [][2][]string{
		{sv("sudo", "-u", "pg", "ls"), sv("sudo", "-u", "pgx", "ls")},
		{sv("sudo", "ls"), sv("sudo", "-u", "root", "ls")},
		{sv("sudo", "ls"), sv("/usr/bin/sudo", "ls")},
		{sv("sudo", "-u", "pg", "ls"), sv("doas", "-u", "pg", "ls")},
		{sv("sudo", "-g", "a", "ls"), sv("sudo", "-g", "b", "ls")},
		{sv("sudo", "ls"), sv("sudo", "-H", "ls")},
		{sv("sudo", "ls"), sv("sudo", "-E", "ls")},
		{sv("sudo", "--preserve-env=A", "ls"), sv("sudo", "--preserve-env=B", "ls")},
		{sv("sudo", "A=1", "ls"), sv("sudo", "A=2", "ls")},
		{sv("sudo", "ls"), sv("sudo", "-i", "ls")},
		{sv("sudo", "ls"), sv("sudo", "-s", "ls")},
		{sv("sudo", "ls"), sv("sudo", "-D", "/tmp", "ls")},
		{sv("sudo", "ls"), sv("sudo", "-P", "ls")},
		{sv("su", "pg", "-c", "ls"), sv("su", "-", "pg", "-c", "ls")},
		{sv("su", "pg", "-c", "ls"), sv("su", "-s", "/bin/bash", "pg", "-c", "ls")},
		{sv("su", "pg", "-c", "ls"), sv("su", "-f", "pg", "-c", "ls")},
		{sv("su", "pg", "-c", "ls"), sv("su", "-G", "x", "pg", "-c", "ls")},
		{sv("su", "-w", "A", "pg", "-c", "ls"), sv("su", "-w", "A,B", "pg", "-c", "ls")},
	}
	for _, p := range differ {
		if a, b := key(p[0]...), key(p[1]...); a == b {
			t.Errorf("keys equal for %q and %q: %s", p[0], p[1], a)
		}
	}
}

func TestSudoShellCommand(t *testing.T) {
	got := SudoShellCommand(sv("/bin/echo", "a b", "$HOME", "it's", "x_y-z", "", "caf\xc3\xa9"))
	want := `\/bin\/echo a\ b $HOME it\'s x_y-z  caf\` + "\xc3\\\xa9"
	if got != want {
		t.Fatalf("SudoShellCommand = %q; want %q", got, want)
	}
}

func TestSuShellArgv(t *testing.T) {
	b := &Become{Login: true, Fast: true, ShellCommand: "ls", ShellArgs: sv("a", "b")}
	if got, want := b.SuShellArgv("/bin/bash"), sv("-bash", "-f", "-c", "ls", "a", "b"); !reflect.DeepEqual(got, want) {
		t.Fatalf("SuShellArgv = %q; want %q", got, want)
	}
	b = &Become{ShellCommand: "ls"}
	if got, want := b.SuShellArgv("/bin/sh"), sv("sh", "-c", "ls"); !reflect.DeepEqual(got, want) {
		t.Fatalf("SuShellArgv = %q; want %q", got, want)
	}
}
