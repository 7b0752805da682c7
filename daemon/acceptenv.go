package daemon

import (
	"slices"
	"sync"
)

// envPolicy is what a connection's sshd said of variable names (its AcceptEnv), asked once per
// name and connection.
type envPolicy struct {
	mu       sync.Mutex
	accepted map[string]bool
}

// acceptedEnv returns those of names that c's sshd accepts, in their order, asking it about the
// names not asked before. When it cannot be asked (no session channel to be had) none is
// accepted, as from an sshd that refuses every name; the next call asks again.
func (d *Daemon) acceptedEnv(c *conn, names []string) (accepted []string) {
	p := &c.env
	p.mu.Lock()
	defer p.mu.Unlock()
	var ask []string
	for _, n := range names {
		if _, known := p.accepted[n]; !known && !slices.Contains(ask, n) {
			ask = append(ask, n)
		}
	}
	if len(ask) > 0 {
		got, err := c.client.AcceptedEnv(ask)
		if err != nil {
			d.logf("daemon: %s: %v", c.dest, err)
			return nil
		}
		if p.accepted == nil {
			p.accepted = map[string]bool{}
		}
		for n, v := range got {
			p.accepted[n] = v
		}
	}
	for _, n := range names {
		if p.accepted[n] {
			accepted = append(accepted, n)
		}
	}
	return accepted
}

// acceptedEnvOf is env without the variables c's sshd refuses. An early call's connect did not
// ask (conn.go), so the command's environment is checked here when the agent, not sshd, is to
// run it; for names asked before it costs nothing and changes nothing.
func (d *Daemon) acceptedEnvOf(c *conn, env map[string]string) map[string]string {
	if len(env) == 0 {
		return env
	}
	names := make([]string, 0, len(env))
	for n := range env {
		names = append(names, n)
	}
	slices.Sort(names)
	kept := make(map[string]string, len(env))
	for _, n := range d.acceptedEnv(c, names) {
		kept[n] = env[n]
	}
	return kept
}
