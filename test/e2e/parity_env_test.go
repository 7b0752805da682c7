package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/internal/shquote"
	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// TestSendEnvSideBySide: SendEnv and SetEnv, from the command line and from a config file with
// Debian's stock "SendEnv LANG LC_*", reach the command as they do with ssh on the same sshd,
// whose AcceptEnv decides (sendEnvSetup).
func TestSendEnvSideBySide(t *testing.T) {
	r := newRig(t)
	config := sendEnvSetup(t, r)
	show := `env | grep -E '^(LANG|LC_|MG_|OTHER|GIT_PROTOCOL)=' | sort`
	cases := []struct {
		name string
		opts []string
	}{
		{"config file only", nil},
		{"SendEnv on the command line", []string{"-o", "SendEnv=MG_* OTHER GIT_PROTOCOL"}},
		{"SendEnv removal", []string{"-o", "SendEnv=-LC_*"}},
		{"SetEnv on the command line wins", []string{"-o", "SetEnv=LC_TIME=cli LC_NEW=new MG_SET=x"}},
	}
	for _, tc := range cases {
		args := append(append([]string{"-F", config}, tc.opts...), sshdtest.HostAlias, show)
		sameEnvAsSSH(t, r, tc.name, args)
	}
}

// TestSendEnvFirstCallAsksNothing: a fresh daemon's first plain command goes out without the
// daemon asking sshd about AcceptEnv first (two round trips before the exec): its env requests
// want no reply, as ssh's, and sshd's AcceptEnv decides as it does for ssh. A first call with a
// pty is no early call (its connect asks), and one with -A, found to need the agent only once
// connected, is checked against AcceptEnv before the agent runs it (runInAgent).
func TestSendEnvFirstCallAsksNothing(t *testing.T) {
	show := `env | grep -E '^(LANG|LC_|MG_|OTHER|GIT_PROTOCOL)=' | sort`
	debug := sshdtest.WithExtraConfig("LogLevel DEBUG1")
	for _, tc := range []struct {
		name   string
		rig    func() *rig
		opts   []string
		probes bool // the daemon asks sshd (env requests with want-reply)
	}{
		{"plain command", func() *rig { return newRig(t, debug) }, nil, false},
		{"pty, in the agent", func() *rig { return newRig(t, debug) }, []string{"-tt"}, true},
		{"-A, in the agent", func() *rig { return newAgentRig(t, debug).rig }, []string{"-A"}, true},
	} {
		r := tc.rig()
		config := sendEnvSetup(t, r)
		args := append(append([]string{"-F", config, "-o", "SendEnv=MG_* OTHER GIT_PROTOCOL"}, tc.opts...), sshdtest.HostAlias, show)
		sameEnvAsSSH(t, r, tc.name, args)
		log := r.srv.Log()
		if !strings.Contains(log, "request env reply 0") {
			t.Fatalf("%s: sshd's log shows no env request at all:\n%s", tc.name, log)
		}
		if got := strings.Contains(log, "request env reply 1"); got != tc.probes {
			t.Errorf("%s: env requests with want-reply in sshd's log: %v, want %v", tc.name, got, tc.probes)
		}
	}
}

// sendEnvSetup gives r's environment variables that sshdtest's AcceptEnv (LANG LC_*
// GIT_PROTOCOL) delivers (LANG, LC_*, GIT_PROTOCOL) and refuses (MG_*, OTHER), and returns a
// config file with Debian's stock "SendEnv LANG LC_*" and a SetEnv.
func sendEnvSetup(t *testing.T, r *rig) string {
	base, err := os.ReadFile(r.srv.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "config")
	writeFile(t, config, string(base)+"\nHost *\n    SendEnv LANG LC_*\n    SetEnv LC_FROMFILE=file MG_FROMFILE=file\n")
	r.env = append(r.env, "LANG=C.UTF-8", "LC_TIME=C", "LC_OTHER=o", "MG_ONE=1", "OTHER=x", "GIT_PROTOCOL=version=2")
	return config
}

// sameEnvAsSSH runs args with fakessh, then with ssh, and compares; fakessh runs first so that
// it may be a fresh daemon's first call.
func sameEnvAsSSH(t *testing.T, r *rig, name string, args []string) {
	t.Helper()
	fake := r.fakessh(nil, args...)
	real := r.run(nil, "ssh", append([]string{"-o", "BatchMode=yes"}, args...)...)
	if real.code != 0 || real.stdout == "" {
		t.Fatalf("%s: ssh: exit %d stdout %q stderr %q", name, real.code, real.stdout, real.stderr)
	}
	sameAsSSH(t, name, fake, real)
}

// TestSendEnvFirstCallsOverflowSideBySide: more first calls at once than the connection's
// session channels for commands (sessionexec.go), so that some run in the agent, each get the
// environment ssh's one call gets: sshd's AcceptEnv decides for the ones on sessions, and the
// daemon's answer from sshd for those in the agent.
func TestSendEnvFirstCallsOverflowSideBySide(t *testing.T) {
	r := newRig(t)
	config := sendEnvSetup(t, r)
	const n = 12
	// Each call waits (bounded) until all n have started, so that they are all open at once.
	barrier := `echo x >>"$1"; i=0; while [ "$(wc -l <"$1")" -lt ` + strconv.Itoa(n) + ` ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; ` +
		`env | grep -E '^(LANG|LC_|MG_|OTHER|GIT_PROTOCOL)=' | sort`
	args := func(file string) []string {
		return []string{"-F", config, "-o", "SendEnv=MG_* OTHER GIT_PROTOCOL", sshdtest.HostAlias,
			"sh -c " + shquote.Quote(barrier) + " sh " + file}
	}
	done := filepath.Join(t.TempDir(), "ssh")
	writeFile(t, done, strings.Repeat("x\n", n))
	real := r.run(nil, "ssh", append([]string{"-o", "BatchMode=yes"}, args(done)...)...)
	if real.code != 0 || real.stdout == "" {
		t.Fatalf("ssh: exit %d stdout %q stderr %q", real.code, real.stdout, real.stderr)
	}
	started := filepath.Join(t.TempDir(), "fake")
	cmds := make([][]string, n)
	for i := range cmds {
		cmds[i] = args(started)
	}
	for i, res := range r.parallel(cmds) {
		if res.err != nil || res.code != real.code || res.stdout != real.stdout || res.stderr != real.stderr {
			t.Errorf("call %d: exit %d stdout %q stderr %q err %v; ssh: exit %d stdout %q", i, res.code, res.stdout, res.stderr, res.err, real.code, real.stdout)
		}
	}
	if !strings.Contains(r.daemonLog(), "the agent runs the command") {
		t.Errorf("no call ran in the agent: the test needs more calls than session channels")
	}
}
