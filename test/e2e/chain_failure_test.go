package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// jumpEndings are the endings ssh -J gives a call to target whose jump host died under it.
// The jump host's ssh prints "Connection to JUMP closed by remote host." and exits, and the ssh
// riding it finds its connection closed too; but their processes race. The jump host's ssh may
// be killed by the other's exit before it prints; the riding ssh may find the pipe gone when it
// sends its disconnect ("client_loop: send disconnect: Broken pipe") and die of it. fakessh
// gives the first, which says the most (and which ssh gave most often here, with the second).
func jumpEndings(jump, target string) []string {
	closed := func(h string) string { return fmt.Sprintf("Connection to %s closed by remote host.\r\n", h) }
	return []string{closed(jump) + closed(target), closed(target), closed(jump) + "client_loop: send disconnect: Broken pipe\r\n"}
}

// TestChainBastionDies: the bastion's sshd going away under calls in flight ends exactly the
// calls whose connections ride it, with ssh -J's message and status beside ssh -J; a call to a
// host not behind it carries on, on its own connection.
func TestChainBastionDies(t *testing.T) {
	c := newChainRig(t, chainHost{alias: "bastion"},
		chainHost{alias: "t1", behind: "bastion", extra: "ProxyJump bastion"},
		chainHost{alias: "t2", behind: "bastion", extra: "ProxyJump bastion"},
		chainHost{alias: "side"})
	fakessh := filepath.Join(binDir, "fakessh")
	fake1 := c.startLong("fakessh t1", fakessh, "-F", c.cfg, "t1")
	fake2 := c.startLong("fakessh t2", fakessh, "-F", c.cfg, "t2")
	side := c.startLong("fakessh side", fakessh, "-F", c.cfg, "side")
	real := c.startLong("ssh t1", "ssh", "-F", c.cfg, "t1")
	failed := time.Now()
	c.srv["bastion"].Stop()

	jump := c.srv["bastion"].Host
	if got := mustEnd(t, real, failed, 255); !slices.Contains(jumpEndings(jump, c.srv["t1"].Host), got) {
		t.Errorf("ssh -J printed %q, none of the endings known", got)
	}
	for alias, f := range map[string]*running{"t1": fake1, "t2": fake2} {
		want := jumpEndings(jump, c.srv[alias].Host)[0]
		if got := mustEnd(t, f, failed, 255); got != want {
			t.Errorf("%s: stderr %q, want %q", f.name, got, want)
		}
	}
	if !alive(side.cmd.Process.Pid) {
		t.Errorf("the call to a host not behind the bastion ended with it: %q", side.stderr.String())
	}
	c.must(c.fake("side", "true"))
	if n := c.srv["side"].Logins(); n != 1 {
		t.Errorf("side: %d logins, want its one connection still up", n)
	}
}

// mustEnd ends a call and requires its exit status; it returns what it printed on stderr.
func mustEnd(t *testing.T, r *running, since time.Time, code int) string {
	t.Helper()
	got, stderr, took := r.end(t, since)
	t.Logf("%s: exit %d after %v, %q", r.name, got, took.Round(time.Millisecond), stderr)
	if got != code {
		t.Errorf("%s: exit %d, want %d", r.name, got, code)
	}
	return stderr
}

// alive reports whether pid is running (neither gone nor a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	return len(f) > 0 && f[0][0] != 'Z'
}
