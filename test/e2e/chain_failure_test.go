package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// jumpEndings are the endings ssh -J gives a call to target whose jump host died under it.
// The jump host's ssh prints jumpLine ("Connection to JUMP closed by remote host.", or its
// keepalive timeout) and exits, and the ssh
// riding it finds its connection closed too; but their processes race. Either may print first;
// the jump host's ssh may be killed by the other's exit before it prints; the riding ssh may
// find the pipe gone when it sends its disconnect ("client_loop: send disconnect: Broken pipe")
// and die of it. fakessh gives the first, which says the most (and which ssh gave most often
// here, with the third).
func jumpEndings(jumpLine, target string) []string {
	jump := jumpLine + "\r\n"
	closed := fmt.Sprintf("Connection to %s closed by remote host.\r\n", target)
	return []string{jump + closed, closed + jump, closed, jump + "client_loop: send disconnect: Broken pipe\r\n"}
}

// closedBy is what ssh prints when host closes its connection.
func closedBy(host string) string {
	return fmt.Sprintf("Connection to %s closed by remote host.", host)
}

// TestChainBastionDies: the bastion's sshd going away under calls in flight ends exactly the
// calls whose connections ride it, with ssh -J's message and status beside ssh -J; a call to a
// host not behind it carries on, on its own connection.
func TestChainBastionDies(t *testing.T) {
	c := newChainRig(t, chainHost{alias: "bastion"},
		chainHost{alias: "t1", behind: "bastion", extra: "ProxyJump bastion"},
		chainHost{alias: "t2", behind: "bastion", extra: "ProxyJump bastion"},
		chainHost{alias: "side"})
	fakessh := filepath.Join(binDir, "fakessh")
	fake1 := c.startLong("fakessh t1", fakessh, "-F", c.cfg, "t1")
	fake2 := c.startLong("fakessh t2", fakessh, "-F", c.cfg, "t2")
	side := c.startLong("fakessh side", fakessh, "-F", c.cfg, "side")
	real := c.startLong("ssh t1", "ssh", "-F", c.cfg, "t1")
	failed := time.Now()
	c.srv["bastion"].Stop()

	jump := closedBy(c.srv["bastion"].Host)
	if got := mustEnd(t, real, failed, 255); !slices.Contains(jumpEndings(jump, c.srv["t1"].Host), got) {
		t.Errorf("ssh -J printed %q, none of the endings known", got)
	}
	for alias, f := range map[string]*running{"t1": fake1, "t2": fake2} {
		want := jumpEndings(jump, c.srv[alias].Host)[0]
		if got := mustEnd(t, f, failed, 255); got != want {
			t.Errorf("%s: stderr %q, want %q", f.name, got, want)
		}
	}
	if !alive(side.cmd.Process.Pid) {
		t.Errorf("the call to a host not behind the bastion ended with it: %q", side.stderr.String())
	}
	c.must(c.fake("side", "true"))
	if n := c.srv["side"].Logins(); n != 1 {
		t.Errorf("side: %d logins, want its one connection still up", n)
	}
}

// mustEnd ends a call and requires its exit status; it returns what it printed on stderr.
func mustEnd(t *testing.T, r *running, since time.Time, code int) string {
	t.Helper()
	got, stderr, took := r.end(t, since)
	t.Logf("%s: exit %d after %v, %q", r.name, got, took.Round(time.Millisecond), stderr)
	if got != code {
		t.Errorf("%s: exit %d, want %d", r.name, got, code)
	}
	return stderr
}

// alive reports whether pid is running (neither gone nor a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	return len(f) > 0 && f[0][0] != 'Z'
}

// TestChainBastionStops: a bastion that stops answering (its sshd stopped, the TCP connection
// still up) is given up on by its own keepalives (ServerAliveInterval in its Host block, as
// the ssh that ssh -J runs for it reads them), and the calls riding it end as under ssh -J.
func TestChainBastionStops(t *testing.T) {
	c := newChainRig(t, chainHost{alias: "bastion", extra: "ServerAliveInterval 1\n  ServerAliveCountMax 2"},
		chainHost{alias: "target", behind: "bastion", extra: "ProxyJump bastion"})
	fake := c.startLong("fakessh", filepath.Join(binDir, "fakessh"), "-F", c.cfg, "target")
	real := c.startLong("ssh", "ssh", "-F", c.cfg, "target")
	pid, err := os.ReadFile(filepath.Join(c.srv["bastion"].Dir, "sshd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	listener, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	pids := descendants(t, listener)
	failed := time.Now()
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	defer func() {
		for _, p := range pids {
			syscall.Kill(p, syscall.SIGCONT)
		}
	}()
	endings := jumpEndings(fmt.Sprintf("Timeout, server %s not responding.", c.srv["bastion"].Host), c.srv["target"].Host)
	if got := mustEnd(t, real, failed, 255); !slices.Contains(endings, got) {
		t.Errorf("ssh -J printed %q, none of the endings known", got)
	}
	// Here ssh is not racy in practice: the jump host's ssh exits as it gives up, before the
	// other's disconnect, and fakessh says what ssh says.
	if got := mustEnd(t, fake, failed, 255); got != endings[3] {
		t.Errorf("fakessh: stderr %q, want %q", got, endings[3])
	}
}
