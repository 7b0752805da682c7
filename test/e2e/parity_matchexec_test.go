package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// TestMatchExecSideBySide: a "Match exec" line runs its command as ssh runs it (the caller's
// $SHELL and environment, %-tokens expanded, once per call) and decides the connection: the
// same call through ssh and fakessh connects to the same place, prints the same and leaves the
// same trace of the command. The daemon is started by a first call without the variable the
// second call's Match tests, so only a resolution in the caller's environment gets it right.
// (%d is left out: ssh takes it from the password database, fakessh from $HOME, which the rig
// points elsewhere.)
func TestMatchExecSideBySide(t *testing.T) {
	r := newRig(t)
	base, err := os.ReadFile(r.srv.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now: a connection to it is refused
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace")
	// First wins: the Match block comes before the file's Host block, which names the port.
	cfg := filepath.Join(dir, "config")
	writeFile(t, cfg, fmt.Sprintf("Match exec \"echo %%h %%p %%r %%n %%u %%i %%k %%C >>%s; test x$MG_ELSEWHERE = x1\"\n  Port %d\n\n%s",
		trace, closed, base))
	withEnv := func(extra ...string) func(*exec.Cmd) {
		return func(c *exec.Cmd) { c.Env = append(append([]string(nil), r.env...), extra...) }
	}
	call := func(env []string, prog string) (result, string) {
		t.Helper()
		os.Remove(trace)
		res := r.runWith(withEnv(env...), prog, "-F", cfg, "-o", "BatchMode=yes", sshdtest.HostAlias, "echo", "ran")
		b, _ := os.ReadFile(trace)
		return res, string(b)
	}
	for _, env := range [][]string{nil, {"MG_ELSEWHERE=1"}, nil} {
		real, realTrace := call(env, "ssh")
		fake, fakeTrace := call(env, filepath.Join(binDir, "fakessh"))
		what := fmt.Sprintf("Match exec with env %q", env)
		sameAsSSH(t, what, fake, real)
		if fakeTrace != realTrace || strings.Count(realTrace, "\n") != 1 {
			t.Errorf("%s: the command ran as\nfakessh: %q\nssh:     %q", what, fakeTrace, realTrace)
		}
		if want := 0; env != nil {
			want = 255
			if real.code != want {
				t.Fatalf("%s: ssh exit %d, want %d (the Match should have sent it to the closed port)", what, real.code, want)
			}
		} else if real.code != want || real.stdout != "ran\n" {
			t.Fatalf("%s: ssh exit %d stdout %q", what, real.code, real.stdout)
		}
	}
}

// TestMatchExecFailuresSideBySide: a Match exec that cannot run or is killed, or a %-token
// ssh does not offer there, stops the call with ssh's lines and status, for a call and for -G.
func TestMatchExecFailuresSideBySide(t *testing.T) {
	r := newRig(t)
	base, err := os.ReadFile(r.srv.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct {
		name, match string
		env         []string
	}{
		{"killed by a signal", `Match exec "kill -9 $$"`, nil},
		{"unknown token", `Match exec "echo %j"`, nil},
		{"token checked even when skipped", `Match host nomatch exec "echo %x"`, nil},
		{"shell not executable", `Match exec true`, []string{"SHELL=/nonexistent/sh"}},
		{"missing criteria", `Match exec`, nil},
		{"exit status only unmatches", "Match !exec \"exit 3\"\n  Bogus x", nil},
	}
	for i, tc := range cases {
		cfg := filepath.Join(dir, fmt.Sprint(i))
		writeFile(t, cfg, tc.match+"\n\n"+string(base))
		for _, dump := range []bool{false, true} {
			args := []string{"-F", cfg, "-o", "BatchMode=yes", sshdtest.HostAlias, "true"}
			if dump {
				args = append([]string{"-G"}, args...)
			}
			setup := func(c *exec.Cmd) { c.Env = append(append([]string(nil), r.env...), tc.env...) }
			real := r.runWith(setup, "ssh", args...)
			fake := r.runWith(setup, filepath.Join(binDir, "fakessh"), args...)
			if real.code != 255 {
				t.Fatalf("%s (-G %v): ssh exit %d stderr %q", tc.name, dump, real.code, real.stderr)
			}
			sameAsSSH(t, fmt.Sprintf("%s (-G %v)", tc.name, dump), fake, real)
		}
	}
}

// TestMatchLinesSideBySide: a Match line is read as ssh reads it (strdelim: a quote runs to the
// next quote, no escapes; '=' and '#' as separators and comments), what its exec runs, whether
// it matches and every message, compared through -G with ssh on the same file.
func TestMatchLinesSideBySide(t *testing.T) {
	r := newRig(t)
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace")
	lines := []string{
		`Match exec "test -n \"x\""`,
		`Match exec "echo a b >>TRACE"c`,
		`Match exec 'echo single quoted >>TRACE'`,
		`Match exec echo"x y >>TRACE"`,
		`Match exec "echo q >>TRACE" all`,
		`Match exec=true`,
		`Match host=h exec="echo eq >>TRACE"`,
		`Match host = h`,
		`Match exec  "true" host h`,
		`Match exec "true"host h`,
		`Match exec "" host h`,
		`Match exec "true"  ""  host x`,
		`Match exec true # comment`,
		`Match all # c`,
		`Match all #c`,
		`Match exec "echo tr#ue >>TRACE"`,
		`Match exec "unterminated`,
		`Match !exec false`,
		`Match exec false exec "echo skipped >>TRACE"`,
		`Match host h exec "echo %h %p %r %n %u %i %k %C >>TRACE"`,
		`Match final exec "echo final %h >>TRACE"`,
	}
	for i, line := range lines {
		cfg := filepath.Join(dir, fmt.Sprint(i))
		writeFile(t, cfg, "Host h\n  HostName h.example\n"+strings.ReplaceAll(line, "TRACE", trace)+"\n  Port 7\n")
		run := func(prog string) (result, string) {
			os.Remove(trace)
			res := r.run(nil, prog, "-F", cfg, "-G", "h")
			res.stdout = portLine(res.stdout) // the rest is -G's own, compared elsewhere
			b, _ := os.ReadFile(trace)
			return res, string(b)
		}
		real, realTrace := run("ssh")
		fake, fakeTrace := run(filepath.Join(binDir, "fakessh"))
		sameAsSSH(t, line, fake, real)
		if fakeTrace != realTrace {
			t.Errorf("%s: exec ran\nfakessh: %q\nssh:     %q", line, fakeTrace, realTrace)
		}
	}
}

// portLine is the port line of ssh -G's output: what a Match line decides here.
func portLine(dump string) string {
	for _, l := range strings.Split(dump, "\n") {
		if strings.HasPrefix(l, "port ") {
			return l
		}
	}
	return ""
}

// TestMatchExecHomeIsHOME: the one intended difference in a Match exec's tokens (README,
// Intended differences): %d is $HOME for fakessh, the password database's home for ssh.
func TestMatchExecHomeIsHOME(t *testing.T) {
	r := newRig(t)
	dir := t.TempDir()
	trace := filepath.Join(dir, "trace")
	cfg := filepath.Join(dir, "config")
	writeFile(t, cfg, fmt.Sprintf("Match exec \"echo %%d >%s\"\n", trace))
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	home := ""
	for _, kv := range r.env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = v
		}
	}
	if home == "" || home == me.HomeDir {
		t.Fatalf("the rig's HOME %q must differ from the password database's %q", home, me.HomeDir)
	}
	for prog, want := range map[string]string{"ssh": me.HomeDir, filepath.Join(binDir, "fakessh"): home} {
		r.must(r.run(nil, prog, "-F", cfg, "-G", "h"))
		b, err := os.ReadFile(trace)
		if err != nil || string(b) != want+"\n" {
			t.Errorf("%s: %%d = %q (%v), want %q", prog, b, err, want)
		}
	}
}

// TestConfigEnvironmentSideBySide: ${NAME} in IdentityFile and UserKnownHostsFile is the
// caller's variable, as for ssh (the daemon, started by an earlier call, has none of them): the
// same call through ssh and fakessh authenticates with the same key, checks the same
// known_hosts, and fails the same way when a variable is missing.
func TestConfigEnvironmentSideBySide(t *testing.T) {
	r := newRig(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	empty := filepath.Join(dir, "empty_known_hosts")
	writeFile(t, empty, "")
	writeFile(t, cfg, fmt.Sprintf("Host envhost\n  HostName 127.0.0.1\n  Port %d\n  User %s\n"+
		"  IdentityFile ${MG_ID}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${MG_KH}\n"+
		"  StrictHostKeyChecking yes\n  BatchMode yes\n  PasswordAuthentication no\n", r.srv.Port, r.srv.User))
	good := []string{"MG_ID=" + r.srv.ClientKey, "MG_KH=" + r.srv.KnownHosts}
	cases := []struct {
		name string
		env  []string
		ok   bool
	}{
		{"both set", good, true},
		{"known_hosts elsewhere", []string{"MG_ID=" + r.srv.ClientKey, "MG_KH=" + empty}, false},
		{"identity unset", []string{"MG_KH=" + r.srv.KnownHosts}, false},
		{"known_hosts unset", []string{"MG_ID=" + r.srv.ClientKey}, false},
		{"both set again", good, true},
	}
	for _, tc := range cases {
		setup := func(c *exec.Cmd) { c.Env = append(append([]string(nil), r.env...), tc.env...) }
		args := []string{"-F", cfg, "envhost", "echo", "ran"}
		real := r.runWith(setup, "ssh", args...)
		fake := r.runWith(setup, filepath.Join(binDir, "fakessh"), args...)
		sameAsSSH(t, tc.name, fake, real)
		if ok := real.code == 0 && real.stdout == "ran\n"; ok != tc.ok {
			t.Fatalf("%s: ssh exit %d stdout %q stderr %q, want success %v", tc.name, real.code, real.stdout, real.stderr, tc.ok)
		}
	}
}

// TestConfigEnvironmentDumpSideBySide: what -G prints for ${NAME} in the keywords that take it,
// and ssh's lines when one cannot be expanded, side by side with ssh.
func TestConfigEnvironmentDumpSideBySide(t *testing.T) {
	r := newRig(t)
	dir := t.TempDir()
	lines := []string{
		`IdentityFile ${HOME}/idx`,
		`UserKnownHostsFile ${MG_SET}/kh ${HOME}/kh2`,
		`ControlPath ${HOME}/cp`,
		`IdentityAgent ${MG_SET}/ag`,
		`CertificateFile ${MG_UNSET}/c`,
		`UserKnownHostsFile ${MG_UNSET}/kh`,
		`ControlPath ${MG_UNSET}/cp`,
		`IdentityAgent ${MG_UNSET}/a`,
		"Host nomatch\n  IdentityAgent ${MG_UNSET}/a",
		`IdentityAgent ${HOME/a`,
		`IdentityAgent ${}/a`,
		`IdentityAgent $MG_UNSET`,
		`IdentityAgent $-x`,
		`IdentityFile ${HOME/a`,
		`ControlPath ${HOME/cp`,
		`UserKnownHostsFile ${}`,
		`UserKnownHostsFile ${MG_SET}/%d/${MG_PCT}`,
		`ForwardAgent ${MG_UNSET}/a`,
		`ForwardAgent ${MG_SET}/a`,
		`ForwardAgent $-x`,
		`ForwardAgent $MG_SET`,
		"Host nomatch\n  ForwardAgent ${MG_UNSET}",
		`ForwardAgent ${MG_PCT}/%h`,
	}
	keep := []string{"identityfile ", "certificatefile ", "userknownhostsfile ", "controlpath ", "identityagent ", "forwardagent "}
	for i, line := range lines {
		cfg := filepath.Join(dir, fmt.Sprint(i))
		writeFile(t, cfg, line+"\nUserKnownHostsFile /mg/kh\n")
		setup := func(c *exec.Cmd) {
			c.Env = append(append([]string(nil), r.env...), "MG_SET=/mg/set", "MG_PCT=a%b", "HOME="+me(t).HomeDir)
		}
		run := func(prog string) result {
			res := r.runWith(setup, prog, "-F", cfg, "-G", "h")
			var kept []string
			for _, l := range strings.Split(res.stdout, "\n") {
				for _, k := range keep {
					if strings.HasPrefix(l, k) {
						kept = append(kept, l)
					}
				}
			}
			res.stdout = strings.Join(kept, "\n")
			return res
		}
		sameAsSSH(t, line, run(filepath.Join(binDir, "fakessh")), run("ssh"))
	}
}

func me(t *testing.T) *user.User {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestDumpUnknownTokenDifference: the intended difference of -G (README): an unknown %-token in
// ControlPath or ForwardAgent is fatal to ssh -G and printed as written by fakessh -G.
func TestDumpUnknownTokenDifference(t *testing.T) {
	r := newRig(t)
	cfg := filepath.Join(t.TempDir(), "config")
	for _, line := range []string{"ControlPath /tmp/%z", "ForwardAgent /tmp/%z"} {
		writeFile(t, cfg, line+"\n")
		real := r.run(nil, "ssh", "-F", cfg, "-G", "h")
		fake := r.run(nil, filepath.Join(binDir, "fakessh"), "-F", cfg, "-G", "h")
		if real.code != 255 || !strings.Contains(real.stderr, "unknown key %z") {
			t.Errorf("%s: ssh -G exit %d stderr %q: the difference is gone", line, real.code, real.stderr)
		}
		if fake.code != 0 || !strings.Contains(fake.stdout, " /tmp/%z\n") {
			t.Errorf("%s: fakessh -G exit %d stdout has no %q", line, fake.code, "/tmp/%z")
		}
	}
}
