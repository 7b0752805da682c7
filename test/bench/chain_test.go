package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// chainRows: the target through a bastion (ProxyJump), the command run as another account
// through sudo. fakessh keeps the hop connection and a become context started by one sudo;
// OpenSSH keeps a master per host and runs sudo on every call. Loopback, then 50 ms RTT on each
// hop (a DelayProxy before the bastion, and one the bastion dials to reach the target).
func chainRows(r *rig) ([]Row, []string) {
	if why := chainMissing(); why != "" {
		if on, sw := testenv.Required(); on {
			r.tb.Fatalf("chain rows: %s (a failure, not a skip, under %s)", why, sw)
		}
		fmt.Fprintf(os.Stderr, "bench: chain rows skipped: %s\n", why)
		return nil, []string{"chain rows (bastion + sudo) skipped: " + why}
	}
	c := newChainRig(r)
	direct := c.chainNet("direct", c.bastion.Port, c.srv.Port, 0)
	toBastion, toTarget := c.delayProxy(c.bastion.Addr), c.delayProxy(c.srv.Addr)
	slow := c.chainNet("rtt50", toBastion.Port(), toTarget.Port(), 50*time.Millisecond)
	notes := []string{c.warmChain(direct), c.warmChain(slow)}
	return append(c.sudoRows(direct, slow), c.rsyncChainRows(direct, slow)...), notes
}

// delayProxy is a DelayProxy to addr, 25 ms each way, closed when the bench ends.
func (c *chainRig) delayProxy(addr string) *DelayProxy {
	p, err := NewDelayProxy(addr, 25*time.Millisecond)
	must(c.tb, err)
	c.tb.Cleanup(func() { p.Close() })
	return p
}

// sudoTrue is the warm call's command.
func (c *chainRig) sudoTrue() string { return "sudo -u " + c.svc + " true" }

// warmChain makes the first fakessh call on n (daemon, both hops, the become context) and says
// what it cost, beside what the OpenSSH masters started for n cost.
func (c *chainRig) warmChain(n *chainNet) string {
	var first tally
	c.counted(&first, func() time.Duration { return c.timed(c.fakessh(n.network, n.socket, "target", c.sudoTrue())) })()
	st := c.status(n.socket)
	contexts := 0
	for _, conn := range st.Connections {
		contexts += len(conn.Contexts)
	}
	return fmt.Sprintf("%s, setup: the first fakessh call (daemon, bastion hop, target, become context) cost %s, after which `mitogend status` lists %d connection(s) and %d become context(s); the two OpenSSH masters (the target's through the bastion's) cost %s",
		n.name, first.per(1), len(st.Connections), contexts, n.masters.per(1))
}

// sudoRows: warm `sudo -u svc true` through the bastion; at 50 ms the loopback calls run
// interleaved too, so that the wire's share reads as (time at 50 ms - time on loopback) / RTT,
// the RTT end to end being the two hops'.
func (c *chainRig) sudoRows(d, n *chainNet) []Row {
	const name = "warm `sudo -u svc true` via bastion, "
	var ta, tb tally
	s := interleave(runsWarm,
		c.counted(&ta, func() time.Duration { return c.timed(c.fakessh(d.network, d.socket, "target", c.sudoTrue())) }),
		c.counted(&tb, func() time.Duration { return c.timed(c.ssh(d.network, true, "target", c.sudoTrue())) }),
	)
	loop := Row{Name: name + "loopback", A: "fakessh", SA: s[0], B: "ssh ControlMaster (ProxyJump)", SB: s[1],
		Extra: fmt.Sprintf("per run: A %s; B %s", ta.per(runsWarm), tb.per(runsWarm))}
	ta, tb = tally{}, tally{}
	s = interleave(runsRTT,
		c.counted(&ta, func() time.Duration { return c.timed(c.fakessh(n.network, n.socket, "target", c.sudoTrue())) }),
		c.counted(&tb, func() time.Duration { return c.timed(c.ssh(n.network, true, "target", c.sudoTrue())) }),
		func() time.Duration { return c.timed(c.fakessh(d.network, d.socket, "target", c.sudoTrue())) },
		func() time.Duration { return c.timed(c.ssh(d.network, true, "target", c.sudoTrue())) },
	)
	e2e := 2 * n.rtt
	rtts := func(slow, loop Samples) string {
		return fmt.Sprintf("%.2f RTT on the wire", float64(slow.Median()-loop.Median())/float64(e2e))
	}
	slow := Row{Name: name + "50 ms RTT per hop", A: "fakessh", SA: s[0], B: "ssh ControlMaster (ProxyJump)", SB: s[1],
		Extra: fmt.Sprintf("RTT = 100 ms end to end: A %s, B %s; per run: A %s; B %s", rtts(s[0], s[2]), rtts(s[1], s[3]),
			ta.per(runsRTT), tb.per(runsRTT))}
	return []Row{loop, slow}
}

// rsyncChainRows: the 2,000 small files into the account's home with
// --rsync-path='sudo -u svc rsync', through the bastion.
func (c *chainRig) rsyncChainRows(d, n *chainNet) []Row {
	src := smallTree(c.rig)
	dst := filepath.Join(c.svcHome, "rsync-dst")
	run := func(e string, env []string) time.Duration {
		must(c.tb, os.RemoveAll(dst))
		cmd := exec.Command("rsync", "-a", "--rsync-path=sudo -u "+c.svc+" rsync", "-e", e, src+"/", sshdtest.HostAlias+":"+dst+"/")
		cmd.Env = env
		return c.timed(cmd)
	}
	var rows []Row
	for _, net := range []*chainNet{d, n} {
		var ta, tb tally
		s := interleave(runsSmall,
			c.counted(&ta, func() time.Duration { return run(filepath.Join(c.bin, "fakessh"), c.env(net.network, net.socket)) }),
			c.counted(&tb, func() time.Duration { return run("ssh -F "+net.config+" -o ControlMaster=no", os.Environ()) }),
		)
		where := "loopback"
		if net.rtt > 0 {
			where = "50 ms RTT per hop"
		}
		rows = append(rows, Row{Name: "rsync 2,000 x 4 KiB files, `--rsync-path='sudo -u svc rsync'` via bastion, " + where,
			A: "rsync -e fakessh", SA: s[0], B: "rsync -e ssh (ControlMaster, ProxyJump)", SB: s[1],
			Extra: fmt.Sprintf("per run: A %s; B %s", ta.per(runsSmall), tb.per(runsSmall))})
	}
	return rows
}
