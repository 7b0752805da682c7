package e2e

import (
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// TestChainProxyCommandSSH: a ProxyCommand that is ssh -W over a jump host, in its usual
// spellings, rides the daemon's connection to the jump host (no process, no second login on
// it) and gives what ssh gives with the same config.
func TestChainProxyCommandSSH(t *testing.T) {
	c := newChainRig(t, bastionAndTarget...)
	spellings := map[string]string{
		"tpc1": "ProxyCommand ssh -F CFG -W %h:%p bastion",
		"tpc2": "ProxyCommand /usr/bin/ssh -W '[%h]:%p' -F CFG -o BatchMode=yes bastion",
		"tpc3": "ProxyCommand fakessh -F CFG bastion -W [%h]:%p",
	}
	for alias, line := range spellings {
		c.alias(alias, "target", line)
	}
	c.must(c.fake("-J", "bastion", "target", "true"))
	for alias := range spellings {
		if got := c.must(c.fake(alias, `cat "$HOME/who"`)); got.stdout != "target\n" {
			t.Errorf("%s: stdout %q", alias, got.stdout)
		}
	}
	if got, want := c.logins(), "bastion=1 target=1"; got != want {
		t.Errorf("logins %s, want %s: each spelling is the same connection as -J bastion target", got, want)
	}
	if log := c.daemonLog(); strings.Contains(log, "ProxyCommand pid") {
		t.Errorf("the daemon started a ProxyCommand process:\n%s", log)
	}
	for alias := range spellings {
		cmd := []string{alias, `cat "$HOME/who"; exit 5`}
		sameAsSSH(t, alias, c.fake(cmd...), c.real(cmd...))
	}
}

// TestChainProxyCommandProcess: any other ProxyCommand runs as a process, under the caller's
// shell as ssh runs it: SSH over its stdin and stdout, its stderr to the first caller as ssh
// shows it; a command that fails to connect fails as under ssh; a process can stand in front
// of a jump host too.
func TestChainProxyCommandProcess(t *testing.T) {
	testenv.NeedTool(t, "socat")
	c := newChainRig(t, bastionAndTarget...)
	c.alias("viasocat", "bastion", `ProxyCommand sh -c 'echo proxy for %n to %h:%p >&2; exec socat STDIO TCP:%h:%p'`)
	c.alias("nosuch", "bastion", "ProxyCommand nosuch-command %h %p")
	c.alias("quits", "bastion", "ProxyCommand sh -c 'echo no way >&2; exit 1'")
	c.alias("bsocat", "bastion", "ProxyCommand socat STDIO TCP:%h:%p")
	c.alias("behindproc", "target", "ProxyJump bsocat")

	cmd := []string{"viasocat", `cat "$HOME/who"`}
	first := c.fake(cmd...)
	sameAsSSH(t, "first call through socat", first, c.real(cmd...))
	if !strings.Contains(first.stderr, "proxy for viasocat to ") || first.stdout != "bastion\n" {
		t.Errorf("first call: stdout %q stderr %q", first.stdout, first.stderr)
	}
	if again := c.must(c.fake(cmd...)); again.stderr != "" {
		t.Errorf("a call on the open connection printed %q", again.stderr)
	}
	if !strings.Contains(c.daemonLog(), "ProxyCommand: proxy for viasocat") {
		t.Errorf("the daemon's log lacks the ProxyCommand's stderr:\n%s", c.daemonLog())
	}
	for _, alias := range []string{"nosuch", "quits"} {
		real := c.real(alias, "true")
		real.stderr = proxyGoneRace(real.stderr)
		sameAsSSH(t, alias, c.fake(alias, "true"), real)
	}
	if got := c.must(c.fake("behindproc", `cat "$HOME/who"`)); got.stdout != "target\n" {
		t.Errorf("behind a ProxyCommand hop: stdout %q", got.stdout)
	}
	sameAsSSH(t, "behind a ProxyCommand hop", c.fake("behindproc", "echo hi"), c.real("behindproc", "echo hi"))
}

// proxyGoneRace folds the two endings ssh gives a ProxyCommand that exits before the banner
// into one. ssh writes its banner and reads the server's; whether the command is already gone
// at the write ("banner exchange: Connection to UNKNOWN port 65535: Broken pipe") or only at the
// read (kex_exchange_identification, then "Connection closed by UNKNOWN port 65535") is a race
// between the two processes. fakessh gives the second, the usual one.
func proxyGoneRace(stderr string) string {
	rest, ok := strings.CutSuffix(stderr, "banner exchange: Connection to UNKNOWN port 65535: Broken pipe\r\n")
	if !ok {
		return stderr
	}
	return rest + "kex_exchange_identification: Connection closed by remote host\r\nConnection closed by UNKNOWN port 65535\r\n"
}
