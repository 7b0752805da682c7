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
	"syscall"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
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
	if os.Getuid() != 0 {
		t.Skip("needs root to act as another user")
	}
	r := newRig(t)
	r.must(r.fakessh(nil, "target", "true"))
	// Open the door on purpose: only the credential check stands in the way now.
	os.Chmod(filepath.Dir(r.socket), 0o755)
	os.Chmod(r.socket, 0o777)
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeercredChild$")
	cmd.Env = append(os.Environ(), "MITOGEN_E2E_PEERCRED_SOCKET="+r.socket)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The test binary lives in a private build directory: run a copy nobody can execute.
	dir, err := os.MkdirTemp("", "peercred-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	copyExe := filepath.Join(dir, "e2e.test")
	if err := copyFile(exe, copyExe, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd.Path, cmd.Args[0] = copyExe, copyExe
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "REFUSED") {
		t.Fatalf("child as uid 65534: %v\n%s", err, out)
	}
	log, _ := os.ReadFile(filepath.Join(filepath.Dir(r.socket), "mitogend.log"))
	if !strings.Contains(string(log), "refused client") || !strings.Contains(string(log), "uid 65534") {
		t.Fatalf("daemon did not log the refusal:\n%s", log)
	}
}

// TestPeercredChild is the other user's side of TestSocketRefusesOtherUsers.
func TestPeercredChild(t *testing.T) {
	sock := os.Getenv("MITOGEN_E2E_PEERCRED_SOCKET")
	if sock == "" {
		t.Skip("helper process for TestSocketRefusesOtherUsers")
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	router.WriteHello(c, router.Hello{})
	if _, err := router.ReadHello(c); err != nil {
		fmt.Println("REFUSED:", err)
		return
	}
	t.Fatal("ADMITTED: the daemon answered another user")
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
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
	syscall.Kill(pid, syscall.SIGKILL)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 255 {
		t.Fatalf("fakessh after the daemon died: %v, stderr %q", err, stderr.String())
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
