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
// sshd) and writes the client side for them. Ports are chosen as Start chooses its own; one
// that another process took first fails the test with the sshd log.
func StartFleet(t testing.TB, n int, opts ...Option) *Fleet {
	t.Helper()
	f := &Fleet{ClientHome: t.TempDir()}
	for len(f.Targets) < n {
		extra := min(n-len(f.Targets), maxPortsPerSSHD) - 1
		ports := make([]int, extra)
		var lines []string
		for i := range ports {
			ports[i] = FreePort(t)
			lines = append(lines, fmt.Sprintf("Port %d", ports[i]))
		}
		o := opts
		if extra > 0 {
			o = append(append([]Option(nil), opts...), WithExtraConfig(strings.Join(lines, "\n")))
		}
		s := Start(t, o...)
		for _, p := range ports {
			// sshd binds its ports one after another, the one Start waited for first.
			if err := s.WaitLog(context.Background(), fmt.Sprintf("Server listening on %s port %d.", s.Host, p)); err != nil {
				t.Fatalf("sshdtest: fleet sshd on port %d: %v\n%s", p, err, s.Log())
			}
		}
		f.Servers = append(f.Servers, s)
		for _, p := range append([]int{s.Port}, ports...) {
			f.Targets = append(f.Targets, FleetTarget{Alias: fmt.Sprintf("t%d", len(f.Targets)+1), Port: p, Server: s})
		}
	}
	f.writeClientFiles(t)
	return f
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
