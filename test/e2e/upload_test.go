package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestAgentUploadPlainOnlyOnLoopback: a target dialled on loopback gets the agent as it is (it
// shares this machine's CPU, and compression would save no network), one across a network
// gets it compressed, and so does a target reached through a jump host, whatever address the
// jump host dials it on.
func TestAgentUploadPlainOnlyOnLoopback(t *testing.T) {
	st, err := os.Stat(filepath.Join(binDir, "mitogen-agent.linux-"+runtime.GOARCH))
	if err != nil {
		t.Fatal(err)
	}
	plain := int(st.Size())

	r := newRig(t)
	r.must(r.fakessh(nil, "target", "true"))
	if got := agentBytesSent(r, 1); got[0] != plain {
		t.Errorf("loopback target: %d bytes of agent sent, want the plain build's %d", got[0], plain)
	}

	c := newChainRig(t, bastionAndTarget...)
	c.must(c.fake("bastion", "true"))
	c.must(c.fake("-J", "bastion", "target", "true"))
	for i, got := range agentBytesSent(c.rig, 2) {
		if got <= 0 || got >= plain {
			t.Errorf("agent %d, across a network namespace or behind a jump host: %d bytes sent, want fewer than the plain build's %d", i, got, plain)
		}
	}
}

// agentBytesSent waits, for at most a minute, until the daemon has logged n agents up, and
// returns the bytes of agent it says it sent to each.
func agentBytesSent(r *rig, n int) []int {
	r.t.Helper()
	line := regexp.MustCompile(`: context \d+ up in .*, (\d+) bytes sent\)`)
	deadline := time.After(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond) // a log file gives no event to wait on
	defer tick.Stop()
	for {
		if m := line.FindAllStringSubmatch(r.daemonLog(), -1); len(m) >= n {
			sent := make([]int, len(m))
			for i, sm := range m {
				sent[i], _ = strconv.Atoi(sm[1])
			}
			return sent
		}
		select {
		case <-deadline:
			r.t.Fatalf("the daemon never logged %d agents up; log:\n%s", n, r.daemonLog())
		case <-tick.C:
		}
	}
}
