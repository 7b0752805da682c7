package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// callBound bounds one call to the honest target while the other attacks: a call whose answer
// the attacker took over would otherwise hang until run's three minutes.
const callBound = time.Minute

// sweptIDs is how many context ids test/hostile's forge mode sweeps (0 up to it).
const sweptIDs = 64

// newHostileChain is a bastion with two targets behind it, each in a namespace of its own that
// only the bastion reaches: "evil", whose agent is the hostile one in mode, and "good", an
// honest agent of the same build. Both ride the bastion through ProxyJump.
func newHostileChain(t *testing.T, mode string) *chainRig {
	t.Helper()
	c := newChainRig(t, chainHost{alias: "bastion"},
		chainHost{alias: "evil", behind: "bastion", extra: "ProxyJump bastion"},
		chainHost{alias: "good", behind: "bastion", extra: "ProxyJump bastion"})
	writeFile(t, filepath.Join(c.srv["evil"].Home, ".mitogen-hostile"), mode)
	// No daemon runs yet: the first fakessh starts it with this environment.
	c.env = append(c.env, "MITOGEN_AGENT_DIR="+hostileAgentDir(t), hostileOnPath)
	os.Remove("/tmp/pwned-by-hostile-spawn") // what the attacker's spawn requests would make
	return c
}

// randomPayload is n random bytes, so that a byte dropped, doubled or forged shows.
func randomPayload(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// echoCall is the call made to the honest target: its name on stderr, stdin back on stdout,
// and an exit status of its own.
const (
	echoCall   = `cat "$HOME/who" >&2; cat; exit 7`
	echoStatus = 7
)

// callGood runs echoCall on good with payload as stdin, within callBound, and fails the test
// unless it gives payload back byte for byte, "good" on stderr and echoStatus.
func callGood(c *chainRig, what string, payload []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "fakessh"), "-F", c.cfg, "good", echoCall)
	cmd.Env = c.env
	cmd.Stdin = bytes.NewReader(payload)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != echoStatus || ctx.Err() != nil {
		c.t.Fatalf("%s: %v (want exit %d), stderr %q", what, err, echoStatus, errb.String())
	}
	if errb.String() != "good\n" {
		c.t.Errorf("%s: stderr %q, want the honest target's name", what, errb.String())
	}
	checkEcho(c.t, what, out.Bytes(), payload)
}

// checkEcho fails the test unless got is want, saying where they first differ.
func checkEcho(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	at := 0
	for at < len(got) && at < len(want) && got[at] == want[at] {
		at++
	}
	t.Fatalf("%s: stdout of %d bytes, want the %d sent; they differ from byte %d", what, len(got), len(want), at)
}

// noneRanOnSay fails the test if the attacker's exec or spawn requests ran anywhere.
func noneRanOnSay(c *chainRig) {
	c.t.Helper()
	for alias, s := range c.srv {
		if _, err := os.Stat(filepath.Join(s.Home, "pwned-by-hostile")); err == nil {
			c.t.Errorf("the attacker ran a command on %s", alias)
		}
	}
	if _, err := os.Stat("/tmp/pwned-by-hostile-spawn"); err == nil {
		c.t.Error("the attacker spawned a command")
		os.Remove("/tmp/pwned-by-hostile-spawn")
	}
}

// destinations is the destinations of the daemon's connections, in status order.
func destinations(c *chainRig) []string {
	var d []string
	for _, conn := range c.status().Connections {
		d = append(d, conn.Destination)
	}
	return d
}

// TestChainHostileTargetCannotReachItsNeighbour: of two targets behind one bastion, one sweeps
// every context id and handle with forged Replies, Dead notices and Disconnects, exec, spawn and
// route opens and calls to the daemon's services. Calls to the other, through the same bastion
// connection, run there byte-exact (1 MiB of stdin back, stderr, exit status), its first
// connection made under the attack; nothing runs on the honest target or the bastion on the
// attacker's say; the daemon stays up; the bastion sees one login for both targets; and once
// the attacker's connection is gone the honest target is served on the same connections.
func TestChainHostileTargetCannotReachItsNeighbour(t *testing.T) {
	c := newHostileChain(t, "forge")
	c.must(c.fake("evil", "true")) // bootstraps the attacker, which then starts its sweep
	c.waitLog("refused call from untrusted context")
	pid := c.status().PID
	for i := range 4 {
		callGood(c, fmt.Sprintf("call %d under attack", i), randomPayload(t, 1<<20))
	}
	noneRanOnSay(c)
	st := c.status()
	// The refusals are not all logged (rate-limited), so the test says instead that the sweep
	// covered the honest target: the attacker forges for context ids below sweptIDs.
	for _, conn := range st.Connections {
		if conn.Context >= sweptIDs {
			t.Errorf("%s is context %d, beyond the ids the attacker sweeps: the attack missed it", conn.Destination, conn.Context)
		}
	}
	if st.PID != pid {
		t.Fatalf("the daemon was replaced (pid %d, then %d): the attacker stopped it", pid, st.PID)
	}
	if len(st.Connections) != 2 {
		t.Errorf("status lists connections %v, want both targets'", destinations(c))
	}
	if got, want := c.logins(), "bastion=1 evil=1 good=1"; got != want {
		t.Errorf("logins %s, want %s: both targets ride one bastion connection", got, want)
	}

	c.must(c.fake("-O", "exit", "evil")) // the attack ends with the attacker's connection
	callGood(c, "call after the attack", randomPayload(t, 1<<20))
	if got, want := c.logins(), "bastion=1 evil=1 good=1"; got != want {
		t.Errorf("after the attacker's connection closed: logins %s, want %s", got, want)
	}
	if d := destinations(c); len(d) != 1 || d[0] != c.srv["good"].User+"@"+c.srv["good"].Addr {
		t.Errorf("status lists connections %v, want the honest target's alone", d)
	}
	if c.status().PID != pid {
		t.Error("the daemon was replaced")
	}
	noneRanOnSay(c)
	// The same call beside ssh, which reaches the target through its own ssh -W to the bastion.
	payload := randomPayload(t, 64<<10)
	sameAsSSH(t, "good through the bastion",
		c.fakessh(bytes.NewReader(payload), "-F", c.cfg, "good", echoCall),
		c.run(bytes.NewReader(payload), "ssh", "-F", c.cfg, "good", echoCall))
}

// TestChainHostileTargetFloodingIsDropped: a target behind a bastion floods stream data, far
// beyond any window, at the handles of every client while a call to its neighbour behind the
// same bastion is in flight, its client stopped (^Z) so that the flood piles up for it. The
// attacker loses its link, the bastion's connection and the neighbour's stay, the daemon's
// memory stays bounded, and the call in flight finishes byte-exact once resumed.
func TestChainHostileTargetFloodingIsDropped(t *testing.T) {
	c := newHostileChain(t, "flood-data")
	victim := exec.Command(filepath.Join(binDir, "fakessh"), "-F", c.cfg, "good", "cat; exit 7")
	victim.Env = c.env
	in, _ := victim.StdinPipe()
	out, _ := victim.StdoutPipe()
	var stderr strings.Builder
	victim.Stderr = &stderr
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(victim.Process.Pid, syscall.SIGCONT)
		victim.Process.Kill()
		victim.Wait()
	})
	first := []byte("in flight\n")
	in.Write(first)
	got := make([]byte, len(first))
	if _, err := io.ReadFull(out, got); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("the call to the honest target echoed %q, %v", got, err)
	}
	pid := c.status().PID
	syscall.Kill(victim.Process.Pid, syscall.SIGSTOP)
	start := time.Now()
	c.must(c.fake("evil", "true")) // bootstraps the attacker, which then floods
	c.waitLog("link queue overflow")
	t.Logf("attacker dropped %v after it started flooding", time.Since(start).Round(time.Millisecond))
	syscall.Kill(victim.Process.Pid, syscall.SIGCONT)

	payload := randomPayload(t, 1<<20)
	bound := time.AfterFunc(callBound, func() { victim.Process.Kill() }) // a wedged call fails, not hangs
	defer bound.Stop()
	go func() {
		in.Write(payload)
		in.Close()
	}()
	rest, err := io.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	checkEcho(t, "the call in flight", rest, payload)
	var ee *exec.ExitError
	if err := victim.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 7 || stderr.String() != "" {
		t.Errorf("the call in flight ended with %v, stderr %q; want exit 7 and nothing", err, stderr.String())
	}

	if rss := peakRSS(t, pid); rss > maxDaemonRSS {
		t.Errorf("daemon peak RSS %d MiB while flooded, bound %d MiB", rss>>20, maxDaemonRSS>>20)
	} else {
		t.Logf("daemon peak RSS %d MiB", rss>>20)
	}
	evilAt := c.srv["evil"].User + "@" + c.srv["evil"].Addr
	if !logLineHas(c.daemonLog(), "("+evilAt+") down: ", "link queue overflow") {
		t.Errorf("no link to %s went down for the overflow: the wrong link paid for it", evilAt)
	}
	if d := destinations(c); len(d) != 1 || d[0] != c.srv["good"].User+"@"+c.srv["good"].Addr {
		t.Errorf("status lists connections %v, want the honest target's alone", d)
	}
	if c.status().PID != pid {
		t.Error("the daemon was replaced")
	}
	callGood(c, "call after the flood", randomPayload(t, 1<<20))
	if got, want := c.logins(), "bastion=1 evil=1 good=1"; got != want {
		t.Errorf("logins %s, want %s: the bastion's and the honest target's connections stay", got, want)
	}
}

// logLineHas reports whether one line of log holds all of parts.
func logLineHas(log string, parts ...string) bool {
	for _, line := range strings.Split(log, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
