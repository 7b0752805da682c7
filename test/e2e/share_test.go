package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestShareAcrossHostKeyOptions: calls whose only difference from the open connection is how
// they check host keys ride it when their own check passes, with ssh's words (synchronize's
// StrictHostKeyChecking=no and UserKnownHostsFile=/dev/null: the "Permanently added" warning);
// a caller whose known_hosts has another key for the host is refused as ssh refuses it, and the
// connection still serves the others. One login for all of them.
func TestShareAcrossHostKeyOptions(t *testing.T) {
	r := newRig(t)
	r.must(r.fakessh(nil, "target", "true"))
	lenient := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"}
	for range 2 {
		fake := r.fakessh(nil, append(append([]string{}, lenient...), "target", "echo shared")...)
		real := r.realSSH(lenient, "echo shared")
		sameAsSSH(t, "StrictHostKeyChecking=no, UserKnownHostsFile=/dev/null", fake, real)
	}
	// Another known_hosts file holding the same key: accepted silently, as by ssh.
	copyKH := filepath.Join(t.TempDir(), "known_hosts")
	b, err := os.ReadFile(r.srv.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, copyKH, string(b))
	other := []string{"-o", "UserKnownHostsFile=" + copyKH}
	sameAsSSH(t, "another known_hosts with the key", r.fakessh(nil, append(append([]string{}, other...), "target", "echo shared")...), r.realSSH(other, "echo shared"))
	// One login for fakessh's calls, and one for each of the real ssh's three.
	if n := r.srv.Logins(); n != 1+3 {
		t.Errorf("%d logins, want 4 (fakessh's calls sharing 1, ssh's 3)", n)
	}
	// A known_hosts with another key for the host: refused with ssh's banner (before any login).
	wrongKH := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, wrongKH, "[127.0.0.1]:"+strconv.Itoa(r.srv.Port)+" "+otherHostKey(t)+"\n")
	wrong := []string{"-o", "UserKnownHostsFile=" + wrongKH, "-o", "StrictHostKeyChecking=yes"}
	fake := r.fakessh(nil, append(append([]string{}, wrong...), "target", "echo no")...)
	real := r.realSSH(wrong, "echo no")
	sameAsSSH(t, "a known_hosts with another key", fake, real)
	r.must(r.fakessh(nil, "target", "true"))
}
