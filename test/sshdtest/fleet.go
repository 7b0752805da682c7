package sshdtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxPortsPerSSHD is how many ports one sshd listens on: OpenSSH's MAX_LISTEN_SOCKS.
const maxPortsPerSSHD = 16

// Fleet is many targets on loopback, each its own sshd port, as a new user would try a fleet
// on one machine: every target is a separate login to a separate address, so nothing that
// keys connections by destination can share one. sshd listens on at most 16 ports, so a fleet
// runs one sshd per 16 targets (each with its own host key).
type Fleet struct {
	Servers []*Server
	Targets []FleetTarget
	// ClientHome is a HOME whose .ssh/config defines every target's alias and whose
	// .ssh/known_hosts holds every port's host key (SSHConfig and KnownHosts).
	ClientHome string
	SSHConfig  string
	KnownHosts string
}

// FleetTarget is one target of a fleet: a port of one of its sshd.
type FleetTarget struct {
	Alias  string // Host alias in the fleet's ssh_config: t1, t2, ...
	Port   int
	Server *Server
}

// StartFleet starts sshd processes enough for n targets (one port each, opts applied to every
// sshd) and writes the client side for them. Ports are chosen as Start chooses its own, every
// one different; an sshd that could not bind all of its ports is started again on others.
func StartFleet(t testing.TB, n int, opts ...Option) *Fleet {
	t.Helper()
	f := &Fleet{ClientHome: t.TempDir()}
	used := map[int]bool{}
	for len(f.Targets) < n {
		s, ports := startFleetSSHD(t, min(n-len(f.Targets), maxPortsPerSSHD), used, opts)
		f.Servers = append(f.Servers, s)
		for _, p := range ports {
			used[p] = true
			f.Targets = append(f.Targets, FleetTarget{Alias: fmt.Sprintf("t%d", len(f.Targets)+1), Port: p, Server: s})
		}
	}
	f.writeClientFiles(t)
	return f
}

// startFleetSSHD starts one sshd listening on k ports, none of them in used, and returns it
// with its ports (its own first). Ports are found free one at a time and bound later, so two
// may come out the same, or one be taken meanwhile; sshd then binds what it can and logs the
// rest, which would make two targets one: such an sshd is stopped and another started.
func startFleetSSHD(t testing.TB, k int, used map[int]bool, opts []Option) (*Server, []int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		chosen := map[int]bool{}
		extra := make([]int, 0, k-1)
		var lines []string
		for len(extra) < k-1 {
			p := FreePort(t)
			if used[p] || chosen[p] {
				continue
			}
			chosen[p] = true
			extra = append(extra, p)
			lines = append(lines, fmt.Sprintf("Port %d", p))
		}
		o := opts
		if len(extra) > 0 {
			o = append(append([]Option(nil), opts...), WithExtraConfig(strings.Join(lines, "\n")))
		}
		s := Start(t, o...)
		ok := !used[s.Port] && !chosen[s.Port]
		for _, p := range extra {
			if !ok {
				break
			}
			// sshd binds its ports one after another, the one Start waited for first; a port it
			// could not bind it logs and goes on without.
			listening := fmt.Sprintf("Server listening on %s port %d.", s.Host, p)
			failed := fmt.Sprintf("Bind to port %d ", p)
			ctx, cancel := withDefaultTimeout(context.Background())
			err := s.waitFor(ctx, func(log string) bool { return strings.Contains(log, listening) || strings.Contains(log, failed) })
			cancel()
			if err != nil {
				t.Fatalf("sshdtest: fleet sshd on port %d: %v\n%s", p, err, s.Log())
			}
			ok = !strings.Contains(s.Log(), failed)
		}
		if ok {
			return s, append([]int{s.Port}, extra...)
		}
		s.Stop()
		if attempt == bindAttempts {
			t.Fatalf("sshdtest: fleet sshd: ports taken %d times in a row\n%s", attempt, s.Log())
		}
	}
}

func (f *Fleet) writeClientFiles(t testing.TB) {
	sshDir := filepath.Join(f.ClientHome, ".ssh")
	f.SSHConfig, f.KnownHosts = filepath.Join(sshDir, "config"), filepath.Join(sshDir, "known_hosts")
	var cfg, kh strings.Builder
	for _, tg := range f.Targets {
		s := tg.Server
		fmt.Fprintf(&cfg, "Host %s\n    HostName %s\n    Port %d\n    User %s\n    IdentityFile %s\n    IdentitiesOnly yes\n    UserKnownHostsFile %s\n    StrictHostKeyChecking yes\n",
			tg.Alias, s.Host, tg.Port, s.User, quote(s.ClientKey), quote(f.KnownHosts))
		kh.WriteString(knownHostsLine(s.Host, tg.Port, s.HostPublicKey))
	}
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	writeFile(t, f.SSHConfig, cfg.String(), 0o600)
	writeFile(t, f.KnownHosts, kh.String(), 0o600)
}

// Aliases are the targets' Host aliases, in order.
func (f *Fleet) Aliases() []string {
	out := make([]string, len(f.Targets))
	for i, tg := range f.Targets {
		out[i] = tg.Alias
	}
	return out
}

// Env is the environment for client programs, as Server.Env, with the fleet's HOME.
func (f *Fleet) Env() []string {
	env := f.Servers[0].Env()
	return append(env[:len(env)-1], "HOME="+f.ClientHome)
}

// Logins is the public key logins every sshd of the fleet has accepted so far.
func (f *Fleet) Logins() int {
	n := 0
	for _, s := range f.Servers {
		n += s.Logins()
	}
	return n
}
