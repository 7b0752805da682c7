package e2e

import (
	"path/filepath"
	"testing"
)

// TestChainLoopRefused: a chain that leads back to itself is refused before anything is dialed:
// the loops ssh.c catches in ssh's words beside ssh, and a longer one (where ssh would start
// one ssh after another without end, so it is not run beside) with the way round.
func TestChainLoopRefused(t *testing.T) {
	r := newRig(t)
	cfg := filepath.Join(t.TempDir(), "config")
	writeFile(t, cfg, "Host self\n  ProxyJump self\nHost loop1\n  ProxyJump loop2\nHost loop2\n  ProxyJump loop1\nHost *\n  BatchMode yes\n")
	for _, args := range [][]string{{"self"}, {"-J", "x", "x"}, {"-J", "u@x:2200", "-l", "u", "-p", "2200", "x"}} {
		cmd := append(append([]string{"-F", cfg}, args...), "true")
		sameAsSSH(t, "loop", r.fakessh(nil, cmd...), r.run(nil, "ssh", cmd...))
	}
	got := r.fakessh(nil, "-F", cfg, "loop1", "true")
	if want := "jumphost loop via loop1: loop1 -> loop2 -> loop1\r\n"; got.code != 255 || got.stderr != want || got.stdout != "" {
		t.Errorf("loop1: exit %d stderr %q stdout %q, want 255 and %q", got.code, got.stderr, got.stdout, want)
	}
	if n := r.srv.Logins(); n != 0 {
		t.Errorf("%d logins", n)
	}
}
