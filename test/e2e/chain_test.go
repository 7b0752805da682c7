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
	// Failures at the hop, and of the channel through it, as ssh -J words them.
	c.alias("badbastion", "bastion", "User nosuchuser")
	for _, args := range [][]string{{"-J", "bastion", "-o", "Port=1", "target"}, {"-J", "badbastion", "target"}} {
		cmd := append(args, "true")
		sameAsSSH(t, strings.Join(args, " "), c.fake(cmd...), c.real(cmd...))
	}
	if st := c.status(); len(st.Connections) != 1 {
		t.Errorf("status lists %d connections, want the target's", len(st.Connections))
	}
	if !strings.Contains(c.daemonLog(), "hop "+c.srv["bastion"].User+"@"+c.srv["bastion"].Addr+" up") {
		t.Errorf("the daemon did not log the bastion's connection:\n%s", c.daemonLog())
	}
}

// TestChainTwoDeep: a target two jump hosts deep, named three ways (a ProxyJump list in the
// config; a ProxyJump to a hop whose own config has a ProxyJump; -J to that hop), each beside
// ssh, all over one connection per sshd.
func TestChainTwoDeep(t *testing.T) {
	c := newChainRig(t,
		chainHost{alias: "b1"},
		chainHost{alias: "b2", behind: "b1", extra: "ProxyJump b1"},
		chainHost{alias: "deep", behind: "b2", extra: "ProxyJump b1,b2"})
	c.alias("deepvia", "deep", "ProxyJump b2")
	spellings := [][]string{{"deep"}, {"deepvia"}, {"-J", "b2", "deep"}}
	for _, args := range spellings {
		got := c.must(c.fake(append(args, `cat "$HOME/who"`)...))
		if got.stdout != "deep\n" {
			t.Fatalf("%v: stdout %q", args, got.stdout)
		}
	}
	if got, want := c.logins(), "b1=1 b2=1 deep=1"; got != want {
		t.Errorf("logins %s, want %s", got, want)
	}
	for _, args := range spellings {
		cmd := append(args, `cat "$HOME/who"; echo err >&2; exit 7`)
		sameAsSSH(t, strings.Join(args, " "), c.fake(cmd...), c.real(cmd...))
	}
}
