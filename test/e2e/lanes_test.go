package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// lanesRig is a rig whose daemon stripes rsync over lanes on loopback too (a round trip of
// 0 or more is far enough).
func lanesRig(t *testing.T, opts ...sshdtest.Option) *rig {
	r := newRig(t, opts...)
	r.env = append(r.env, "MITOGEN_LANES_MIN_RTT=0s")
	r.must(r.fakessh(nil, "target", "true")) // the connection and its agent, then its lanes
	return r
}

// TestRsyncOnLanes: rsync's server, up and down, with its stdin and stdout striped over four
// SSH channels to the agent: the trees arrive whole, and a failing rsync exits as it does
// through ssh.
func TestRsyncOnLanes(t *testing.T) {
	testenv.NeedTool(t, "rsync")
	r := lanesRig(t)
	r.waitLogCount("lanes ready", 1)
	base := t.TempDir()
	src, remote, back := filepath.Join(base, "src"), filepath.Join(base, "remote"), filepath.Join(base, "back")
	tree(t, src)

	r.must(r.run(nil, "rsync", "-a", "-e", "fakessh", src+"/", "target:"+remote+"/"))
	sameTree(t, src, remote)
	if n := strings.Count(r.daemonLog(), "a bulk command on 4 lanes"); n != 1 {
		t.Fatalf("the push ran on lanes %d times, want 1; log:\n%s", n, r.daemonLog())
	}
	r.waitLogCount("lanes ready", 2) // the next set
	r.must(r.run(nil, "rsync", "-a", "-e", "fakessh", "target:"+remote+"/", back+"/"))
	sameTree(t, src, back)
	if n := strings.Count(r.daemonLog(), "a bulk command on 4 lanes"); n != 2 {
		t.Fatalf("the pull ran on lanes %d times in all, want 2", n)
	}

	// A destination that cannot be made: rsync's own status and words, as through ssh.
	bad := "target:" + filepath.Join(src, "big") + "/below/a/file/"
	r.waitLogCount("lanes ready", 3)
	got := r.run(nil, "rsync", "-a", "-e", "fakessh", filepath.Join(src, "small"), bad)
	want := r.run(nil, "rsync", "-a", "-e", r.srv.SSHCommand(), filepath.Join(src, "small"), bad)
	if got.code != want.code || want.code == 0 || got.stderr != want.stderr {
		t.Fatalf("rsync through fakessh exited %d (%q), through ssh %d (%q)", got.code, got.stderr, want.code, want.stderr)
	}
	if n := strings.Count(r.daemonLog(), "a bulk command on 4 lanes"); n != 3 {
		t.Fatalf("the failing rsync ran on lanes %d times in all, want 3", n)
	}
}

// TestLanesRefusedBySSHD: a target whose sshd forbids streamlocal channels runs rsync on its
// session channel, as without lanes.
func TestLanesRefusedBySSHD(t *testing.T) {
	testenv.NeedTool(t, "rsync")
	r := lanesRig(t, sshdtest.WithExtraConfig("AllowStreamLocalForwarding no\n"))
	r.waitLog("no lanes:")
	pushOffLanes(t, r)
}

// pushOffLanes pushes a tree with rsync through fakessh: it must arrive whole, and not on lanes.
func pushOffLanes(t *testing.T, r *rig) {
	t.Helper()
	base := t.TempDir()
	src, remote := filepath.Join(base, "src"), filepath.Join(base, "remote")
	tree(t, src)
	r.must(r.run(nil, "rsync", "-a", "-e", "fakessh", src+"/", "target:"+remote+"/"))
	sameTree(t, src, remote)
	if strings.Contains(r.daemonLog(), "a bulk command on") {
		t.Fatalf("rsync ran on lanes; log:\n%s", r.daemonLog())
	}
}

// TestHostileTargetCutsLanes: a target whose agent acks a set of lanes, sends a piece of a
// bulk command's stdout, then a chunk length far above the bound on the next lane, keeping the
// lanes open, and reports exit status 0: the call ends (no hang on the open lanes) with 255
// and a message, not with the target's 0, and nothing past the bad chunk is shown.
func TestHostileTargetCutsLanes(t *testing.T) {
	f, res := bulkOnHostileLanes(t, "lanes-cut")
	if res.code != 255 || !strings.Contains(res.stderr, "cut short") {
		t.Fatalf("a bulk command whose lanes the target broke exited %d, stderr %q; want 255 and why", res.code, res.stderr)
	}
	if res.stdout != "cut-\n" {
		t.Fatalf("stdout %q, want the one chunk before the bad one", res.stdout)
	}
	if n := strings.Count(f.daemonLog(), "a bulk command on 4 lanes"); n != 1 {
		t.Fatalf("the command ran on lanes %d times, want 1", n)
	}
}

// bulkOnHostileLanes runs rsync's server, on lanes, on a target whose agent is test/hostile in
// mode, once that agent has acked its first set.
func bulkOnHostileLanes(t *testing.T, mode string) (*fleet, result) {
	f := newFleet(t, map[string]string{"evil": mode}, nil)
	f.env = append(f.env, "MITOGEN_LANES_MIN_RTT=0s")
	f.must(f.fakessh(nil, "evil", "true")) // bootstraps the attacker
	f.waitLogCount("lanes ready", 1)
	return f, f.fakessh(nil, "evil", "rsync --server --sender -logDtpre.iLsfxCIvu . /nothing/")
}

// TestLanesEndedIdle: sshd closes a ready set's channels while they wait (ChannelTimeout): the
// daemon sees it and drops the set, and the next rsync runs on its session channel, whole,
// instead of failing on lanes that are gone.
func TestLanesEndedIdle(t *testing.T) {
	testenv.NeedTool(t, "rsync")
	r := lanesRig(t, sshdtest.WithExtraConfig("ChannelTimeout direct-streamlocal@openssh.com=1s\n"))
	r.waitLogCount("lanes ready", 1)
	r.waitLogCount("ended while it waited", 1)
	pushOffLanes(t, r)
}

// TestHostileTargetHangsLanes: a target whose agent sends a piece of a bulk command's stdout
// and its exit status 0, but neither ends stdout nor closes its lanes: the call ends, once the
// lanes have been idle past the daemon's bound, with 255 and a message.
func TestHostileTargetHangsLanes(t *testing.T) {
	f, res := bulkOnHostileLanes(t, "lanes-hang")
	if res.code != 255 || !strings.Contains(res.stderr, "cut short") || res.stdout != "cut-\n" {
		t.Fatalf("a bulk command whose lanes never ended exited %d, stdout %q, stderr %q; want 255, the one chunk and why", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(f.daemonLog(), "after the exit") {
		t.Fatalf("the daemon did not say why it cut the lanes; log:\n%s", f.daemonLog())
	}
}

// TestAgentRemovesItsLanesSocket: when its sshd goes (a dropped connection's ClientAlive
// timeout, a kill), the agent removes the directory of its lanes' socket before it exits. It
// once died of SIGPIPE on its next write to the closed pipes, and left one in the target's
// TMPDIR per connection.
func TestAgentRemovesItsLanesSocket(t *testing.T) {
	tmp := t.TempDir()
	r := lanesRig(t, sshdtest.WithExtraConfig("SetEnv TMPDIR="+tmp+"\n"))
	r.waitLogCount("lanes ready", 1)
	if left, _ := filepath.Glob(filepath.Join(tmp, "mitogen-lanes-*")); len(left) != 1 {
		t.Fatalf("the agent's lane sockets under its TMPDIR: %v, want one", left)
	}
	agent := r.status().Connections[0].Agent.PID
	sshd := ancestorNamed(t, agent, "sshd-session", "sshd") // OpenSSH 9.8 on names it sshd-session
	if err := syscall.Kill(sshd, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitGone(ctx, agent); err != nil {
		t.Fatalf("the agent outlived its sshd: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "mitogen-lanes-*")); len(left) != 0 {
		t.Fatalf("the agent left %v behind", left)
	}
}

// ancestorNamed is the nearest ancestor of pid whose command is one of names.
func ancestorNamed(t *testing.T, pid int, names ...string) int {
	for p := pid; p > 1; {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			t.Fatal(err)
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read from its closing parenthesis.
		s := string(b)
		comm := s[strings.IndexByte(s, '(')+1 : strings.LastIndexByte(s, ')')]
		if p != pid && slices.Contains(names, comm) {
			return p
		}
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if p, err = strconv.Atoi(fields[1]); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("no %v above process %d", names, pid)
	return 0
}
