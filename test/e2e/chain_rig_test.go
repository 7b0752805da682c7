package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/netnstest"
	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// chainRig is sshd targets in network namespaces, each reachable only through the one in front
// of it (or from the test's namespace, for those in front of nothing), one daemon, and one
// ssh_config naming them all, which fakessh and the real ssh both get with -F.
type chainRig struct {
	*rig
	srv map[string]*sshdtest.Server // by alias
	cfg string                      // the ssh_config path
}

// chainHost is one sshd of a chainRig: its alias, the alias it sits behind ("" for the test's
// own namespace) and extra ssh_config lines for its Host block, with CFG standing for the
// config's path.
type chainHost struct {
	alias, behind, extra string
}

// newChainRig builds the namespaces and sshds for hosts, in order (a host after the one it sits
// behind), and writes the ssh_config. Each target's HOME holds a file "who" with its alias.
func newChainRig(t *testing.T, hosts ...chainHost) *chainRig {
	t.Helper()
	net := netnstest.New(t)
	c := &chainRig{srv: map[string]*sshdtest.Server{}}
	ns := map[string]*netnstest.NS{}
	home := t.TempDir()
	c.cfg = filepath.Join(home, ".ssh", "config")
	var cfg strings.Builder
	for _, h := range hosts {
		ns[h.alias] = net.Add(h.alias)
		var front *netnstest.NS
		if h.behind != "" {
			if front = ns[h.behind]; front == nil {
				t.Fatalf("%s is behind %s, which comes later or not at all", h.alias, h.behind)
			}
		}
		link := net.Connect(front, ns[h.alias])
		s := sshdtest.Start(t, sshdtest.WithNetns(ns[h.alias].Name), sshdtest.WithListenAddress(link.B))
		c.srv[h.alias] = s
		writeFile(t, filepath.Join(s.Home, "who"), h.alias+"\n")
		fmt.Fprintf(&cfg, "Host %s\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
			h.alias, s.Host, s.Port, s.User, s.ClientKey, s.KnownHosts)
		if h.extra != "" {
			fmt.Fprintf(&cfg, "  %s\n", strings.ReplaceAll(h.extra, "CFG", c.cfg))
		}
	}
	writeFile(t, c.cfg, cfg.String())
	var any *sshdtest.Server
	for _, s := range c.srv {
		any = s
	}
	c.rig = attachRig(t, append(any.Env(), "HOME="+home))
	return c
}

// fake runs fakessh -F cfg with args.
func (c *chainRig) fake(args ...string) result {
	c.t.Helper()
	return c.fakessh(nil, append([]string{"-F", c.cfg}, args...)...)
}

// real runs OpenSSH's ssh -F cfg with args.
func (c *chainRig) real(args ...string) result {
	c.t.Helper()
	return c.run(nil, "ssh", append([]string{"-F", c.cfg}, args...)...)
}

// logins is every sshd's count of logins so far, "alias=n ..." in alias order.
func (c *chainRig) logins() string {
	var out []string
	for alias, s := range c.srv {
		out = append(out, fmt.Sprintf("%s=%d", alias, s.Logins()))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// alias adds a Host block name for the sshd of alias of, with extra lines (CFG as in chainHost)
// ahead of the usual ones, so that they win.
func (c *chainRig) alias(name, of, extra string) {
	c.t.Helper()
	s := c.srv[of]
	block := fmt.Sprintf("Host %s\n  %s\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
		name, strings.ReplaceAll(extra, "CFG", c.cfg), s.Host, s.Port, s.User, s.ClientKey, s.KnownHosts)
	old, err := os.ReadFile(c.cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	writeFile(c.t, c.cfg, string(old)+block)
}
