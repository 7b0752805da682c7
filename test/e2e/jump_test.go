package e2e

import (
	"path/filepath"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// -J: the daemon reaches the target through a jump host, as ssh -J does (here the jump host and
// the target are the same sshd: one login for the hop, one for the target through it). scp
// passes -J through to fakessh.
func TestProxyJump(t *testing.T) {
	r := newRig(t)
	res := r.must(r.fakessh(nil, "-J", "target", "target", "echo via-jump"))
	if res.stdout != "via-jump\n" {
		t.Fatalf("%q", res.stdout)
	}
	if n := r.srv.Logins(); n != 2 {
		t.Fatalf("sshd saw %d logins, want 2 (the jump host, then the target through it)", n)
	}
	// The same destination and jump share that connection.
	r.must(r.fakessh(nil, "-J", "target", "target", "true"))
	src := filepath.Join(t.TempDir(), "f")
	sum := sshdtest.RandomFile(t, src, 1<<20)
	dst := filepath.Join(t.TempDir(), "g")
	r.must(r.run(nil, "scp", "-S", filepath.Join(binDir, "fakessh"), "-J", "target", src, "target:"+dst))
	if got := sshdtest.SHA256File(t, dst); got != sum {
		t.Fatalf("scp -J copied %s, want %s", got, sum)
	}
	if n := r.srv.Logins(); n != 2 {
		t.Fatalf("sshd saw %d logins after reuse, want 2", n)
	}
}
