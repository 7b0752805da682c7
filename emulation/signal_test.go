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

// signalsChild prints the mask of ignored signals of a command it starts.
func signalsChild(reset bool) int {
	if reset {
		ResetIgnoredSignals()
	}
	base := BaseEnv([]string{"SHELL=/bin/sh", "PATH=/usr/bin:/bin", "HOME=" + os.Getenv("HOME")})
	p, err := Start(base, Request{Command: "grep '^SigIgn:' /proc/self/status"}, nil, os.Stdout, os.Stderr)
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
		cmd := exec.Command("/bin/sh", "-c", `trap '' HUP INT; exec "$0"`, os.Args[0])
		cmd.Env = append(os.Environ(), signalsChildEnv+"="+tt.mode)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tt.mode, err, out)
		}
		hex, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "SigIgn:")
		mask, perr := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if !ok || perr != nil {
			t.Fatalf("%s: the command printed %q", tt.mode, out)
		}
		if got := mask & hupInt; got != tt.want {
			t.Errorf("%s: the command ignores signals %#x of SIGHUP and SIGINT (%#x), want %#x", tt.mode, got, uint64(hupInt), tt.want)
		}
	}
}
