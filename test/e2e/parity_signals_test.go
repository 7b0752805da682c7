package e2e

import (
	"strings"
	"testing"
)

// TestSignalMasksSideBySide: a command starts with the same ignored and blocked signals through
// fakessh as through ssh on the same sshd, on a session channel and in the agent (-tt). A
// signal the agent ignores or blocks for itself and passed on would show here: the command
// would not die of the SIGPIPE, SIGHUP or ^C it dies of under sshd.
func TestSignalMasksSideBySide(t *testing.T) {
	r := newRig(t)
	show := `grep -E '^Sig(Ign|Blk):' /proc/self/status`
	for _, tc := range []struct {
		name string
		opts []string
	}{
		{"on a session channel", nil},
		{"in the agent, with a pty", []string{"-tt"}},
	} {
		args := append(append([]string{"-o", "BatchMode=yes"}, tc.opts...), append(r.srv.SSHArgs(), show)...)
		real := r.run(nil, "ssh", args...)
		if real.code != 0 || strings.Count(real.stdout, "Sig") != 2 {
			t.Fatalf("%s: ssh: exit %d stdout %q stderr %q", tc.name, real.code, real.stdout, real.stderr)
		}
		sameAsSSH(t, tc.name, r.fakessh(nil, args...), real)
	}
}
