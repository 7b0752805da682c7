package e2e

import (
	"strings"
	"testing"
)

// bastionAndTarget: a target that only the bastion reaches.
var bastionAndTarget = []chainHost{{alias: "bastion"}, {alias: "target", behind: "bastion"}}

// TestChainJump: -J reaches a target that the test's namespace cannot reach, as ssh -J does
// beside it; a direct attempt fails as ssh's does. Calls after the first ride the same
// connections: one login on each sshd.
func TestChainJump(t *testing.T) {
	c := newChainRig(t, bastionAndTarget...)
	direct := []string{"-o", "ProxyJump=none", "target", "true"}
	sameAsSSH(t, "target without the bastion", c.fake(direct...), c.real(direct...))
	if n := c.srv["target"].Logins(); n != 0 {
		t.Fatalf("the target was reached directly (%d logins): the topology is wrong", n)
	}

	got := c.must(c.fake("-J", "bastion", "target", `cat "$HOME/who"`))
	if got.stdout != "target\n" {
		t.Fatalf("stdout %q, want the target's", got.stdout)
	}
	for range 5 {
		c.must(c.fake("-J", "bastion", "target", "true"))
	}
	if got, want := c.logins(), "bastion=1 target=1"; got != want {
		t.Errorf("logins %s, want %s", got, want)
	}
	sameAsSSH(t, "-J bastion target", c.fake("-J", "bastion", "target", `cat "$HOME/who"; exit 3`),
		c.real("-J", "bastion", "target", `cat "$HOME/who"; exit 3`))
	if st := c.status(); len(st.Connections) != 1 {
		t.Errorf("status lists %d connections, want the target's", len(st.Connections))
	}
	if !strings.Contains(c.daemonLog(), "hop "+c.srv["bastion"].User+"@"+c.srv["bastion"].Addr+" up") {
		t.Errorf("the daemon did not log the bastion's connection:\n%s", c.daemonLog())
	}
}
