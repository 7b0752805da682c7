package emulation

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// signalsChildEnv makes this test binary the child of TestResetIgnoredSignals: it starts one
// command and exits with its status. Its value says whether to call ResetIgnoredSignals first.
const signalsChildEnv = "EMULATION_TEST_SIGNALS_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(signalsChildEnv); mode != "" {
		os.Exit(signalsChild(mode == "reset"))
	}
	// As the agent's main does: under nohup, the pty tests' commands would not die of the
	// hangup they check.
	ResetIgnoredSignals()
	os.Exit(m.Run())
}

// signalsChild prints the mask of ignored signals of a command it starts, as an account whose
// home (HOME, a test's own directory) has no ~/.ssh/rc to print anything first.
func signalsChild(reset bool) int {
	if reset {
		ResetIgnoredSignals()
	}
	home := os.Getenv("HOME")
	base := BaseEnv([]string{"SHELL=/bin/sh", "PATH=/usr/bin:/bin", "HOME=" + home})
	acct := account{name: "tester", dir: home, shell: "/bin/sh"}
	p, err := start(base, Request{Command: "grep '^SigIgn:' /proc/self/status"}, acct, nil, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return p.Wait().Status
}

// TestResetIgnoredSignals starts this binary again with SIGHUP and SIGINT ignored, as nohup
// leaves them, and reads which signals a command it starts ignores: both, as Go leaves them,
// unless ResetIgnoredSignals was called; then neither, as under sshd.
func TestResetIgnoredSignals(t *testing.T) {
	const hupInt = 1<<(1-1) | 1<<(2-1) // SigIgn's bit for signal n is 1<<(n-1)
	for _, tt := range []struct {
		mode string
		want uint64
	}{{"keep", hupInt}, {"reset", 0}} {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/bin/sh", "-c", `trap '' HUP INT; exec "$0"`, self)
		cmd.Env = append(os.Environ(), signalsChildEnv+"="+tt.mode, "HOME="+t.TempDir())
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", tt.mode, err, out, stderr.String())
		}
		mask, ok := sigIgn(string(out))
		if !ok {
			t.Fatalf("%s: the command printed %q, %q", tt.mode, out, stderr.String())
		}
		if got := mask & hupInt; got != tt.want {
			t.Errorf("%s: the command ignores signals %#x of SIGHUP and SIGINT (%#x), want %#x", tt.mode, got, uint64(hupInt), tt.want)
		}
	}
}

// sigIgn is the mask on out's SigIgn line, which /proc/PID/status prints in hexadecimal.
func sigIgn(out string) (uint64, bool) {
	for _, line := range strings.Split(out, "\n") {
		if hex, ok := strings.CutPrefix(line, "SigIgn:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			return mask, err == nil
		}
	}
	return 0, false
}
