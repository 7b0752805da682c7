package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// agentIdleWait bounds how long agentIdleKiB waits for an agent to give its heap back: it
// looks every 2 s (gctune.ReturnWhenIdle in cmd/mitogen-agent).
const agentIdleWait = 10 * time.Second

// agentIdleKiB is an agent's RSS once it has had time to give back what the rows before left:
// the lowest of its RSS sampled over agentIdleWait, which ends early once the RSS falls and
// holds for a sample.
func agentIdleKiB(pid int) int {
	low := rssKiB(pid)
	tick := time.NewTicker(500 * time.Millisecond) // its memory gives no event to wait on
	defer tick.Stop()
	deadline := time.After(agentIdleWait)
	for {
		select {
		case <-deadline:
			return low
		case <-tick.C:
		}
		now := rssKiB(pid)
		if now == low && now < 10<<10 {
			return low
		}
		low = min(low, now)
	}
}

// freshAgentKiB is the RSS of the agent of sock's first connection once it is up and idle.
func freshAgentKiB(r *rig, sock string) int {
	deadline := time.After(agentIdleWait)
	tick := time.NewTicker(100 * time.Millisecond) // the bootstrap's end gives the bench no event
	defer tick.Stop()
	for {
		if st := r.status(sock); len(st.Connections) > 0 && st.Connections[0].Agent.PID > 0 {
			return agentIdleKiB(st.Connections[0].Agent.PID)
		}
		select {
		case <-deadline:
			return 0
		case <-tick.C:
		}
	}
}

// agentWireNote says what the agent costs on the wire: every SSH target gets the gzip -9 copy
// (buildAll makes it as `make agents` does); a child context gets the plain build over a local
// pipe.
func agentWireNote(r *rig) string {
	path := filepath.Join(r.bin, "mitogen-agent.linux-"+runtime.GOARCH)
	plain, err := os.Stat(path)
	if err != nil {
		return "agent on the wire: " + err.Error()
	}
	gz, err := os.Stat(path + ".gz")
	if err != nil {
		return "agent on the wire: " + err.Error()
	}
	return fmt.Sprintf("agent on the wire: %d B gzip -9 to every SSH target (%d B plain, as a child context gets it over a local pipe)", gz.Size(), plain.Size())
}
