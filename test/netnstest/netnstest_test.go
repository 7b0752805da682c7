package netnstest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestTopology: a namespace behind another is routed only from the one in front of it, none
// forwards, and everything is gone once the test that made it ends.
func TestTopology(t *testing.T) {
	var names []string
	var rootEnd string
	t.Run("build", func(t *testing.T) {
		n := New(t)
		front, back := n.Add("front"), n.Add("back")
		names = []string{front.Name, back.Name}
		outer := n.Connect(nil, front)
		inner := n.Connect(front, back)
		rootEnd = "mg" + n.id + "-1a"
		if outer.Subnet == inner.Subnet {
			t.Fatalf("both links in %s", outer.Subnet)
		}
		for _, ns := range []*NS{front, back} {
			if on, err := ns.Forwarding(); err != nil || on {
				t.Errorf("%s forwards (%v, %v)", ns.Name, on, err)
			}
		}
		if !(*NS)(nil).Routed(outer.B) {
			t.Errorf("the root namespace has no route to %s, the front namespace", outer.B)
		}
		if (*NS)(nil).Routed(inner.B) {
			t.Errorf("the root namespace routes %s, behind the front namespace", inner.B)
		}
		if !front.Routed(inner.B) || back.Routed(outer.A) {
			t.Errorf("front routes back: %v; back routes the root namespace: %v", front.Routed(inner.B), back.Routed(outer.A))
		}
	})
	list, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.Contains(string(list), name) {
			t.Errorf("%s left behind: %s", name, list)
		}
	}
	if rootEnd != "" && exec.Command("ip", "link", "show", rootEnd).Run() == nil {
		t.Errorf("veth %s left behind", rootEnd)
	}
}
