package e2e

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFirstCallDoesNotWaitForTheAgent: the first call to a fresh target, a plain command, runs
// on a session channel of its own as soon as the SSH login is done, while the agent is still on
// its way (here held back until the test opens a FIFO, so it cannot be up); a call that needs
// the agent (a pty) waits for it and rides the same login.
func TestFirstCallDoesNotWaitForTheAgent(t *testing.T) {
	r := newRig(t)
	fifo := filepath.Join(r.srv.Home, ".mitogen-late")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(r.srv.Home, ".mitogen-hostile"), "late")
	r.env = append(r.env, "MITOGEN_AGENT_DIR="+hostileAgentDir(t))

	if res := r.must(r.fakessh(nil, "target", "echo first")); res.stdout != "first\n" {
		t.Fatalf("first call: %q", res.stdout)
	}
	second := make(chan result, 1)
	go func() { second <- r.fakessh(nil, "-tt", "target", "echo second") }()
	release, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until the agent opens it
	if err != nil {
		t.Fatal(err)
	}
	release.Close()
	if res := <-second; res.code != 0 || res.stdout != "second\r\n" {
		t.Errorf("pty call after the agent came: exit %d stdout %q stderr %q", res.code, res.stdout, res.stderr)
	}
	if n := r.srv.Logins(); n != 1 {
		t.Errorf("%d logins, want the one both calls rode", n)
	}
}
