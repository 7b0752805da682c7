// Package netnstest builds throwaway network topologies for tests: named network namespaces
// joined to each other or to the test's own (root) namespace by veth pairs, addressed in
// 198.18.0.0/15 (RFC 2544's benchmarking range). No namespace forwards (ip_forward is off in
// each), and every subnet between two namespaces is "unreachable" in the root namespace's table,
// so a host behind another is reachable only through a program running on that other one, and
// nothing is ever routed out of the machine. Everything it adds is removed in t.Cleanup, even
// when the test fails.
//
// It needs root and iproute2's ip (testenv decides whether their absence skips or fails). It is
// not a network emulator: no delay, loss or bandwidth shaping.
package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// Net is one test's topology. Its methods fail the test on error; they are not safe for
// concurrent use.
type Net struct {
	t     testing.TB
	id    string
	links int
	used  map[int]bool // /24 subnets of 198.18.0.0/15 this Net took, by index
}

// NS is a named network namespace; a nil *NS is the test's own (root) namespace.
type NS struct {
	Name string // for ip netns exec and sshdtest.WithNetns
}

// Link is one veth pair: A's end has address A, B's end address B, in a /24 of their own.
type Link struct {
	A, B   string // addresses without the prefix length
	Subnet string // "198.18.N.0/24"
}

// New starts an empty topology for t.
func New(t testing.TB) *Net {
	t.Helper()
	testenv.NeedRoot(t, "netnstest: network namespaces")
	testenv.NeedTool(t, "ip")
	b := make([]byte, 3)
	rand.Read(b)
	return &Net{t: t, id: hex.EncodeToString(b), used: map[int]bool{}}
}

// Add creates a network namespace (named after label and the topology's random id, so that
// tests running at once do not collide) with its loopback up and forwarding off.
func (n *Net) Add(label string) *NS {
	n.t.Helper()
	ns := &NS{Name: fmt.Sprintf("mg-%s-%s", n.id, label)}
	n.ip(nil, "netns", "add", ns.Name)
	n.t.Cleanup(func() { n.try(nil, "netns", "del", ns.Name) })
	n.ip(ns, "link", "set", "lo", "up")
	if out, err := ns.Command("sh", "-c", "echo 0 >/proc/sys/net/ipv4/ip_forward").CombinedOutput(); err != nil {
		n.t.Fatalf("netnstest: turning forwarding off in %s: %v\n%s", ns.Name, err, out)
	}
	return ns
}

// Connect joins a and b (either may be nil, the root namespace, but not both) with a veth pair
// in a fresh /24: a's end gets .1, b's end .2. A subnet that does not reach the root namespace
// is made unreachable there, so that the root namespace's default route never carries it out.
func (n *Net) Connect(a, b *NS) Link {
	n.t.Helper()
	if a == nil && b == nil {
		n.t.Fatal("netnstest: Connect needs a namespace on at least one side")
	}
	n.links++
	ends := [2]string{fmt.Sprintf("mg%s-%da", n.id, n.links), fmt.Sprintf("mg%s-%db", n.id, n.links)}
	idx := n.freeSubnet()
	prefix := fmt.Sprintf("198.%d.%d.", 18+idx/256, idx%256)
	l := Link{A: prefix + "1", B: prefix + "2", Subnet: prefix + "0/24"}
	n.ip(nil, "link", "add", ends[0], "type", "veth", "peer", "name", ends[1])
	// Deleting one end deletes both; an end moved into a namespace also goes with it.
	n.t.Cleanup(func() { n.try(nil, "link", "del", ends[0]); n.try(nil, "link", "del", ends[1]) })
	for i, side := range [2]*NS{a, b} {
		addr := []string{l.A, l.B}[i]
		if side != nil {
			n.ip(nil, "link", "set", ends[i], "netns", side.Name)
		}
		n.ip(side, "addr", "add", addr+"/24", "dev", ends[i])
		n.ip(side, "link", "set", ends[i], "up")
	}
	if a != nil && b != nil {
		n.ip(nil, "route", "add", "unreachable", l.Subnet)
		n.t.Cleanup(func() { n.try(nil, "route", "del", "unreachable", l.Subnet) })
	}
	return l
}

// freeSubnet picks a random /24 of 198.18.0.0/15 that neither this Net nor anything in the root
// namespace's routing tables uses (other tests on the machine may hold some).
func (n *Net) freeSubnet() int {
	n.t.Helper()
	routes := n.output(nil, "-4", "route", "show", "table", "all")
	for range 1000 {
		r, _ := rand.Int(rand.Reader, big.NewInt(512))
		idx := int(r.Int64())
		if n.used[idx] || strings.Contains(routes, fmt.Sprintf("198.%d.%d.", 18+idx/256, idx%256)) {
			continue
		}
		n.used[idx] = true
		return idx
	}
	n.t.Fatal("netnstest: no free /24 in 198.18.0.0/15")
	return 0
}

// Command is name run inside ns (ip netns exec); a nil ns runs it here.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	if ns == nil {
		return exec.Command(name, args...)
	}
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Forwarding reports whether ns forwards IPv4 packets between its interfaces.
func (ns *NS) Forwarding() (bool, error) {
	out, err := ns.Command("cat", "/proc/sys/net/ipv4/ip_forward").Output()
	return strings.TrimSpace(string(out)) != "0", err
}

// Routed reports whether addr has a route in ns (for the root namespace, nil: whether a
// packet to addr would leave through a route rather than be refused as unreachable).
func (ns *NS) Routed(addr string) bool {
	if net.ParseIP(addr) == nil {
		return false
	}
	return ns.Command("ip", "route", "get", addr).Run() == nil
}

// ip runs ip with args in ns and fails the test if it fails.
func (n *Net) ip(ns *NS, args ...string) {
	n.t.Helper()
	if out, err := ipCommand(ns, args...).CombinedOutput(); err != nil {
		n.t.Fatalf("netnstest: ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (n *Net) output(ns *NS, args ...string) string {
	n.t.Helper()
	out, err := ipCommand(ns, args...).Output()
	if err != nil {
		n.t.Fatalf("netnstest: ip %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// try runs a cleanup step; a failure is logged, not fatal, so that the other steps still run.
func (n *Net) try(ns *NS, args ...string) {
	if out, err := ipCommand(ns, args...).CombinedOutput(); err != nil && !strings.Contains(string(out), "Cannot find device") {
		n.t.Logf("netnstest: cleanup: ip %s: %v %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}

func ipCommand(ns *NS, args ...string) *exec.Cmd {
	if ns == nil {
		return exec.Command("ip", args...)
	}
	return exec.Command("ip", append([]string{"-n", ns.Name}, args...)...)
}
