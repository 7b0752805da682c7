package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// running is a call in flight: fakessh or ssh running `echo started; exec sleep 600`.
type running struct {
	name   string
	cmd    *exec.Cmd
	stderr *strings.Builder
}

// startLong starts prog with args and the long command and waits until the command runs.
func (r *rig) startLong(name, prog string, args ...string) *running {
	r.t.Helper()
	cmd := exec.Command(prog, append(args, "echo started; exec sleep 600")...)
	cmd.Env = r.env
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { cmd.Process.Kill() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "started\n" {
		r.t.Fatalf("%s: %q %v; stderr %q", name, line, err, stderr.String())
	}
	go io.Copy(io.Discard, out)
	return &running{name: name, cmd: cmd, stderr: &stderr}
}

// end waits (at most a minute) for the call to end and returns its exit status, what it printed
// on stderr, and how long it took after the failure at since.
func (c *running) end(t *testing.T, since time.Time) (int, string, time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		c.cmd.Process.Kill()
		t.Fatalf("%s still running a minute after the failure; stderr %q", c.name, c.stderr.String())
	}
	return c.cmd.ProcessState.ExitCode(), c.stderr.String(), time.Since(since)
}

// sideBySide ends fakessh's and ssh's calls and requires the same status and stderr; failed is
// when the failure was made.
func sideBySide(t *testing.T, fake, real *running, failed time.Time) {
	t.Helper()
	fc, fe, fd := fake.end(t, failed)
	rc, re, rd := real.end(t, failed)
	t.Logf("fakessh: exit %d after %v, %q", fc, fd.Round(time.Millisecond), fe)
	t.Logf("ssh:     exit %d after %v, %q", rc, rd.Round(time.Millisecond), re)
	if fc != rc || fe != re {
		t.Errorf("fakessh exit %d stderr %q; ssh exit %d stderr %q", fc, fe, rc, re)
	}
}

// descendants lists pid and every process below it.
func descendants(t *testing.T, pid int) []int {
	t.Helper()
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command name (which may hold spaces) start after the last ')'.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

func sshdPID(t *testing.T, r *rig) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.srv.Dir, "sshd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// TestStoppedTargetTimesOut: a target whose sshd stops answering (SIGSTOP: the connection stays
// open, nothing comes back) ends a call in flight within the keepalive bound, with ssh's message
// and exit status, side by side with ssh under the same ServerAlive settings; the next call
// reconnects.
func TestStoppedTargetTimesOut(t *testing.T) {
	r := newRig(t)
	alive := []string{"-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2"}
	// The first caller's keepalive settings are the connection's.
	r.must(r.fakessh(nil, append(alive, "target", "true")...))
	fake := r.startLong("fakessh", filepath.Join(binDir, "fakessh"), "target")
	real := r.startLong("ssh", "ssh", append(append(alive, "-o", "BatchMode=yes"), r.srv.SSHArgs()...)...)
	pids := descendants(t, sshdPID(t, r))
	failed := time.Now()
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	resumed := false
	resume := func() {
		if !resumed {
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGCONT)
			}
			resumed = true
		}
	}
	defer resume()
	sideBySide(t, fake, real, failed)
	resume()
	if res := r.must(r.fakessh(nil, "target", "echo back")); res.stdout != "back\n" {
		t.Errorf("after the target came back: %q", res.stdout)
	}
}

// cutProxy forwards TCP to a fixed address until Cut closes every connection it carries.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.Cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Cut closes both sides of every connection: to each end, the other end went away.
func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestCutConnection: the TCP connection to the target cut under a call in flight ends the call
// with ssh's message and status, side by side with ssh through the same proxy.
func TestCutConnection(t *testing.T) {
	r := newRig(t)
	p := newCutProxy(t, r.srv.Addr)
	known := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, known, fmt.Sprintf("[127.0.0.1]:%d %s\n", p.port(), r.srv.HostPublicKey))
	via := []string{"-o", "Port=" + strconv.Itoa(p.port()), "-o", "UserKnownHostsFile=" + known}
	fake := r.startLong("fakessh", filepath.Join(binDir, "fakessh"), append(via, "target")...)
	real := r.startLong("ssh", "ssh", append(append(via, "-o", "BatchMode=yes"), r.srv.SSHArgs()...)...)
	failed := time.Now()
	p.Cut()
	sideBySide(t, fake, real, failed)
	if res := r.must(r.fakessh(nil, append(via, "target", "echo back")...)); res.stdout != "back\n" {
		t.Errorf("the next call: %q", res.stdout)
	}
}

// TestKilledAgent: the agent killed under a call in flight ends the call as the far end closing
// the connection does under ssh (OpenSSH has no agent: its nearest case is the sshd process that
// serves the connection dying, which the test does to ssh beside it); the next call starts a new
// agent.
func TestKilledAgent(t *testing.T) {
	r := newRig(t)
	r.must(r.fakessh(nil, "target", "true"))
	agent := r.status().Connections[0].Agent.PID
	fake := r.startLong("fakessh", filepath.Join(binDir, "fakessh"), "target")
	before := map[int]bool{}
	for _, p := range descendants(t, sshdPID(t, r)) {
		before[p] = true
	}
	real := r.startLong("ssh", "ssh", append([]string{"-o", "BatchMode=yes"}, r.srv.SSHArgs()...)...)
	var sshConn int // the sshd process that took ssh's connection: a child of the listener
	for _, p := range descendants(t, sshdPID(t, r)) {
		if !before[p] && sshConn == 0 {
			sshConn = p
		}
	}
	if sshConn == 0 {
		t.Fatal("no sshd process for ssh's connection")
	}
	failed := time.Now()
	syscall.Kill(agent, syscall.SIGKILL)
	syscall.Kill(sshConn, syscall.SIGKILL)
	sideBySide(t, fake, real, failed)
	res := r.must(r.fakessh(nil, "target", "echo back"))
	if res.stdout != "back\n" {
		t.Errorf("the next call: %q", res.stdout)
	}
	if now := r.status().Connections[0].Agent.PID; now == agent {
		t.Errorf("the next call used the dead agent %d", agent)
	}
}
