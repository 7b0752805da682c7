package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// idleAgentRSS is the goal for an agent's resident set once idle (issue 11).
const idleAgentRSS = 10 << 20

// TestAgentGivesMemoryBackOnceIdle: a transfer up and down through the agent grows its heap
// (the collector lets it reach five times the live heap); once idle the agent's resident set
// falls back under idleAgentRSS, and the files arrived whole.
func TestAgentGivesMemoryBackOnceIdle(t *testing.T) {
	r := newRig(t)
	r.must(r.fakessh(nil, "target", "true"))
	pid := agentPID(r)
	if rss := residentBytes(t, pid); rss >= idleAgentRSS {
		t.Errorf("a fresh agent holds %d KiB resident, want under %d KiB", rss>>10, idleAgentRSS>>10)
	}

	dir := t.TempDir()
	src := filepath.Join(dir, "big")
	data := bytes.Repeat([]byte("0123456789abcdef"), 8<<20) // 128 MiB
	writeFile(t, src, string(data))
	dst := t.TempDir()
	r.must(r.cp(src, "target:"+dst+"/big"))
	r.must(r.cp("target:"+dst+"/big", filepath.Join(dir, "back")))
	if back, err := os.ReadFile(filepath.Join(dir, "back")); err != nil || !bytes.Equal(back, data) {
		t.Fatalf("the file did not come back whole (%d bytes, %v)", len(back), err)
	}
	peak := peakRSS(t, pid)
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond) // the agent's memory gives no event to wait on
	defer tick.Stop()
	rss := residentBytes(t, pid)
	for waiting := true; rss >= idleAgentRSS && waiting; rss = residentBytes(t, pid) {
		select {
		case <-deadline:
			waiting = false
		case <-tick.C:
		}
	}
	if rss >= idleAgentRSS {
		t.Errorf("30 s after 128 MiB up and down (peak %d KiB) the agent holds %d KiB resident, want under %d KiB", peak>>10, rss>>10, idleAgentRSS>>10)
	}
	t.Logf("agent peak %d KiB, idle %d KiB", peak>>10, rss>>10)
}

// agentPID waits, for at most a minute, for the agent of the rig's one connection to be up (a
// first call does not wait for it) and returns its pid.
func agentPID(r *rig) int {
	r.t.Helper()
	deadline := time.After(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond) // the bootstrap's end gives the test no event
	defer tick.Stop()
	for {
		if st := r.statusJSON(); len(st.Connections) > 0 && st.Connections[0].Agent.PID > 0 {
			return st.Connections[0].Agent.PID
		}
		select {
		case <-deadline:
			r.t.Fatalf("no agent up after a minute; log:\n%s", r.daemonLog())
		case <-tick.C:
		}
	}
}

// residentBytes is a process's resident set now (VmRSS).
func residentBytes(t *testing.T, pid int) int64 { return procStatusBytes(t, pid, "VmRSS:") }

// procStatusBytes is a size field of /proc/PID/status ("VmRSS:", "VmHWM:"), in bytes.
func procStatusBytes(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kib << 10
		}
	}
	t.Fatalf("no %s for pid %d", field, pid)
	return 0
}
