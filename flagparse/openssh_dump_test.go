package flagparse

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// intendedDumpDifferences are the parseCases whose "-G" output differs from ssh 9.2's on
// purpose; README's "Intended differences" lists them too.
var intendedDumpDifferences = map[string]string{
	"V alone":                 "-V names fakessh",
	"V stops scanning":        "-V names fakessh",
	"Q needs no host":         "-Q is refused",
	"Q case-insensitive name": "-Q is refused",
	"Q stops scanning":        "-Q is refused",
	"E and F last wins":       "-E is ignored: fakessh logs on stderr",
	"bracketed v6":            "[addr] loses its brackets, so that it can be dialled",
	"P tag first wins":        "-P tag and Tag are accepted, as in OpenSSH 9.4",
	"o tag":                   "-P tag and Tag are accepted, as in OpenSSH 9.4",
	"y":                       "-y is ignored: fakessh logs on stderr",
}

var (
	fakesshOnce sync.Once
	fakesshBin  string
	fakesshErr  error
)

// TestMain removes the fakessh buildFakessh built, once every test that shares it has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if fakesshBin != "" {
		os.RemoveAll(filepath.Dir(fakesshBin))
	}
	os.Exit(code)
}

// buildFakessh builds cmd/fakessh once for the side-by-side tests.
func buildFakessh(t *testing.T) string {
	t.Helper()
	gobin := testenv.NeedTool(t, "go")
	fakesshOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flagparse-fakessh-")
		if err != nil {
			fakesshErr = err
			return
		}
		fakesshBin = filepath.Join(dir, "fakessh")
		out, err := exec.Command(gobin, "build", "-o", fakesshBin, "../cmd/fakessh").CombinedOutput()
		if err != nil {
			fakesshErr = &buildError{out: string(out), err: err}
		}
	})
	if fakesshErr != nil {
		t.Fatal(fakesshErr)
	}
	return fakesshBin
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

type runResult struct {
	code           int
	stdout, stderr string
}

// runDump runs prog with "-G -F none" before args, stdin not a terminal, and HOME the
// password database's (ssh ignores $HOME).
func runDump(t *testing.T, prog, home string, args []string) runResult {
	t.Helper()
	cmd := exec.Command(prog, append([]string{"-G", "-F", "none"}, args...)...)
	cmd.Dir = t.TempDir() // -E writes there
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "MITOGEN_SOCKET=/nonexistent/socket"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := runResult{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", prog, err)
	}
	return res
}

// TestParseCasesAgainstSSHDump runs every parseCases command line through "ssh -G" and
// "fakessh -G" (no config files) and requires the same status, stdout and stderr, except for
// the cases intendedDumpDifferences names, which must still differ (so that the list stays true).
func TestParseCasesAgainstSSHDump(t *testing.T) {
	sshBin := testenv.NeedTool(t, "ssh")
	fake := buildFakessh(t)
	me, err := user.Current()
	if err != nil {
		testenv.Skip(t, "no current user: %v", err)
	}
	sshVersion := strings.TrimSpace(runDump(t, sshBin, me.HomeDir, []string{"-V"}).stderr)
	fakeVersion := strings.TrimSpace(runDump(t, fake, me.HomeDir, []string{"-V"}).stderr)
	for _, tc := range parseCases {
		if slices.ContainsFunc(tc.args, func(a string) bool { return strings.Contains(a, "\x00") }) {
			continue // no exec carries a NUL
		}
		real := runDump(t, sshBin, me.HomeDir, tc.args)
		got := runDump(t, fake, me.HomeDir, tc.args)
		if !slices.Contains(tc.args, "-V") {
			// -v's banner names the program; ssh's debug lines are its own (the classes are
			// compared in test/e2e).
			real.stderr = dropDebug(strings.ReplaceAll(real.stderr, sshVersion, fakeVersion))
			got.stderr = dropDebug(got.stderr)
		}
		why, intended := intendedDumpDifferences[tc.name]
		switch {
		case intended && got == real:
			t.Errorf("%s: listed as an intended difference (%s) but fakessh -G matches ssh -G", tc.name, why)
		case !intended && got != real:
			t.Errorf("%s: %q\nfakessh: exit %d stderr %q\nssh:     exit %d stderr %q\n%s", tc.name, tc.args,
				got.code, got.stderr, real.code, real.stderr, lineDiff(got.stdout, real.stdout))
		}
	}
}

// dropDebug removes ssh's debug1..debug3 lines.
func dropDebug(stderr string) string {
	lines := strings.SplitAfter(stderr, "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "debug") })
	return strings.Join(lines, "")
}

// lineDiff shows the lines only one of two dumps has.
func lineDiff(fake, real string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	f, r := in(fake), in(real)
	var b strings.Builder
	for _, l := range strings.Split(fake, "\n") {
		if !r[l] {
			b.WriteString("  fakessh only: " + l + "\n")
		}
	}
	for _, l := range strings.Split(real, "\n") {
		if !f[l] {
			b.WriteString("  ssh only:     " + l + "\n")
		}
	}
	return b.String()
}
