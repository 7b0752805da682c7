package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/test/testenv"
)

func (r *rig) status() proto.Status {
	r.t.Helper()
	res := r.must(r.run(nil, filepath.Join(binDir, "mitogend"), "status", "--json", "--socket", r.socket))
	var st proto.Status
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		r.t.Fatalf("status: %v: %s", err, res.stdout)
	}
	return st
}

// The agent runs from memory and leaves nothing on the target; status reports the tunnel.
func TestStatusAndAgentInMemory(t *testing.T) {
	r := newRig(t)
	r.env = append(r.env, "MITOGEN_SESSION_EXEC=0") // the bytes cross the agent's link, which status counts
	tmpBefore := agentFiles(t)
	data := strings.Repeat("x", 100000)
	r.must(r.fakessh(strings.NewReader(data), "target", "cat >/dev/null"))
	st := r.status()
	if len(st.Connections) != 1 {
		t.Fatalf("status: %+v", st)
	}
	c := st.Connections[0]
	if c.Agent.Exe != "memfd" || c.Agent.PID == 0 || c.Context == 0 {
		t.Errorf("agent %+v: want a memfd agent with a pid and a context id", c.Agent)
	}
	if c.BytesOut < uint64(len(data)) || c.BytesIn == 0 {
		t.Errorf("bytes in %d out %d: want at least %d out", c.BytesIn, c.BytesOut, len(data))
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", c.Agent.PID))
	if err != nil || !strings.HasPrefix(exe, "/memfd:") {
		t.Errorf("agent executable %q (%v), want a memfd", exe, err)
	}
	if after := agentFiles(t); len(after) != len(tmpBefore) {
		t.Errorf("agent files left in /tmp: %v", after)
	}
	human := r.must(r.run(nil, filepath.Join(binDir, "mitogend"), "status", "--socket", r.socket))
	if !strings.Contains(human.stdout, "127.0.0.1") || !strings.Contains(human.stdout, "memfd") {
		t.Errorf("status output:\n%s", human.stdout)
	}
}

func agentFiles(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(os.TempDir(), ".mitogen-agent.*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The daemon admits only its own uid (SO_PEERCRED), even when the socket's permissions would
// let another user connect.
func TestSocketRefusesOtherUsers(t *testing.T) {
	testenv.NeedRoot(t, "acting as another user")
	r := newRig(t)
	r.must(r.fakessh(nil, "target", "true"))
	// Open the door on purpose: only the credential check stands in the way now.
	os.Chmod(filepath.Dir(r.socket), 0o755)
	os.Chmod(r.socket, 0o777)
	cmd, err := otherUserChild(t, r.socket)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "REFUSED") {
		t.Fatalf("child as uid 65534: %v\n%s", err, out)
	}
	log, _ := os.ReadFile(filepath.Join(filepath.Dir(r.socket), "mitogend.log"))
	if !strings.Contains(string(log), "refused client") || !strings.Contains(string(log), "uid 65534") {
		t.Fatalf("daemon did not log the refusal:\n%s", log)
	}
}

// peercredEnv names the socket a peercredChild process dials.
const peercredEnv = "MITOGEN_E2E_PEERCRED_SOCKET"

// peercredChild is the other user's side of TestSocketRefusesOtherUsers, run by TestMain in place
// of the tests when peercredEnv is set. It prints REFUSED when the daemon turns it away.
func peercredChild(sock string) int {
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Println("dial:", err)
		return 1
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	router.WriteHello(c, router.Hello{})
	if _, err := router.ReadHello(c); err != nil {
		fmt.Println("REFUSED:", err)
		return 0
	}
	fmt.Println("ADMITTED: the daemon answered another user")
	return 1
}

// otherUserChild is this test binary running peercredChild as uid 65534 against socket. The
// child reaches both through inherited descriptors (/proc/self/fd/3 and 4), so it needs no
// search permission on the directories above them: the build directory and a /tmp of mode 0700
// are root's alone. The binary is a copy whose mode is set here, whatever the umask was.
func otherUserChild(t *testing.T, socket string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	copyExe := filepath.Join(t.TempDir(), "e2e.test")
	if err := copyFile(exe, copyExe); err != nil {
		return nil, err
	}
	if err := os.Chmod(copyExe, 0o755); err != nil {
		return nil, err
	}
	bin, err := os.Open(copyExe)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { bin.Close() })
	fd, err := unix.Open(socket, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", socket, err)
	}
	sock := os.NewFile(uintptr(fd), socket)
	t.Cleanup(func() { sock.Close() })
	cmd := exec.Command("/proc/self/fd/3")
	cmd.ExtraFiles = []*os.File{bin, sock}
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), peercredEnv+"=/proc/self/fd/4")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o700)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fakessh starts the daemon when none answers; the daemon leaves once idle.
func TestDaemonStartsOnDemandAndExitsWhenIdle(t *testing.T) {
	r := newRig(t)
	// Short: the daemon counts a client from accept, and a fakessh that a daemon exiting for
	// idleness hangs up on tries again, so even a loaded machine needs no margin here.
	r.env = append(r.env, "MITOGEN_IDLE=300ms")
	r.must(r.fakessh(nil, "target", "true"))
	pid := r.status().PID
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitGone(ctx, pid); err != nil {
		t.Fatalf("daemon pid %d still running after its idle time: %v", pid, err)
	}
	if _, err := os.Stat(r.socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
	// And the next call starts a new one.
	res := r.must(r.fakessh(nil, "target", "echo again"))
	if res.stdout != "again\n" {
		t.Errorf("%q", res.stdout)
	}
}

// TestFirstCallsAtOnceStartOneDaemon: twenty first calls at once, with no daemon yet, start one
// daemon between them (each started daemon says "pid N serving" or "another daemon serves" in
// the log beside the socket), and every call is answered. The daemon here is slow to start, as
// on a loaded machine with a cold cache, so that the calls all find no daemon answering.
func TestFirstCallsAtOnceStartOneDaemon(t *testing.T) {
	r := newRig(t)
	slow := filepath.Join(t.TempDir(), "mitogend")
	writeFile(t, slow, "#!/bin/sh\nsleep 0.5\nexec "+filepath.Join(binDir, "mitogend")+` "$@"`+"\n")
	if err := os.Chmod(slow, 0o755); err != nil {
		t.Fatal(err)
	}
	r.env = append(r.env, "MITOGEND="+slow)
	const n = 20
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.fakessh(nil, "target", fmt.Sprintf("echo %d", i))
		}()
	}
	wg.Wait()
	for i, res := range results {
		if res.code != 0 || res.stdout != fmt.Sprintf("%d\n", i) {
			t.Errorf("call %d: exit %d stdout %q stderr %q", i, res.code, res.stdout, res.stderr)
		}
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(r.socket), "mitogend.log"))
	if err != nil {
		t.Fatal(err)
	}
	serving, lost := strings.Count(string(b), " serving "+r.socket), strings.Count(string(b), "another daemon serves")
	if serving != 1 || lost != 0 {
		t.Errorf("daemons started: %d serving, %d that found another serving; want 1 and 0", serving, lost)
	}
}

// waitGone polls (bounded by ctx) until pid no longer exists. A zombie counts as gone.
func waitGone(ctx context.Context, pid int) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// When the daemon dies mid-call, fakessh reports it and exits 255 instead of hanging.
func TestDaemonDeathEndsCalls(t *testing.T) {
	r := newRig(t)
	r.must(r.fakessh(nil, "target", "true"))
	pid := r.status().PID
	cmd := exec.Command(filepath.Join(binDir, "fakessh"), "target", "echo started; exec sleep 600")
	cmd.Env = r.env
	out, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 8)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "started\n" {
		t.Fatalf("%q %v", line, err)
	}
	killed := time.Now()
	syscall.Kill(pid, syscall.SIGKILL)
	err := cmd.Wait()
	t.Logf("fakessh ended %v after the daemon was killed: %v, %q", time.Since(killed).Round(time.Millisecond), err, stderr.String())
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 255 {
		t.Fatalf("fakessh after the daemon died: %v, stderr %q", err, stderr.String())
	}
	if got := stderr.String(); got != "Connection to 127.0.0.1 closed by remote host.\r\n" {
		t.Errorf("fakessh said %q when the daemon died", got)
	}
	if res := r.must(r.fakessh(nil, "target", "echo again")); res.stdout != "again\n" {
		t.Errorf("the next call, with a new daemon: %q", res.stdout)
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
