package sshdtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// stopTimeout bounds how long Stop waits for sshd and its connection
// processes to exit after SIGTERM before it resorts to SIGKILL.
const stopTimeout = 5 * time.Second

// process is one sshd listener.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returns
}

// startProcess starts sshd with stdin from /dev/null and stdout/stderr in a
// file. A file rather than a pipe, because connection processes inherit it
// and would keep cmd.Wait from returning while they live.
func startProcess(path, stderrPath string, args ...string) (*process, error) {
	stderr, err := os.Create(stderrPath)
	if err != nil {
		return nil, fmt.Errorf("sshdtest: %w", err)
	}
	defer stderr.Close() // the child has its own copy
	cmd := exec.Command(path, args...)
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sshdtest: starting %s: %w", path, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status says nothing the log does not
		close(p.exited)
	}()
	return p, nil
}

// terminate stops the listener and the per-connection sshd processes it
// forked. Those run in their own sessions (sshd calls setsid), so killing a
// process group would miss them; instead the listener is paused while its
// children are listed, so it cannot fork one we do not see.
func (p *process) terminate(tb testing.TB) {
	pid := p.cmd.Process.Pid
	select {
	case <-p.exited:
		return
	default:
	}
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	kids := childPIDs(pid)
	for _, k := range kids {
		// A connection's monitor forwards SIGTERM to its unprivileged
		// child, which closes the connection.
		_ = syscall.Kill(k, syscall.SIGTERM)
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	_ = syscall.Kill(pid, syscall.SIGCONT)

	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := waitGone(ctx, p.exited, kids); err != nil {
		tb.Logf("sshdtest: sshd did not stop on SIGTERM, killing it: %v", err)
		_ = p.cmd.Process.Kill()
		for _, k := range kids {
			_ = syscall.Kill(k, syscall.SIGKILL)
		}
		<-p.exited
	}
}

// waitGone waits until exited is closed and none of pids is still running.
func waitGone(ctx context.Context, exited <-chan struct{}, pids []int) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			if !anyRunning(pids) {
				return nil
			}
		default:
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
		case <-tick.C:
		}
	}
}

func anyRunning(pids []int) bool {
	for _, pid := range pids {
		if running(pid) {
			return true
		}
	}
	return false
}

// childPIDs lists the processes whose parent is ppid, from /proc. Without
// /proc it returns nothing and Stop only stops the listener.
func childPIDs(ppid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if parent, _, ok := procStat(pid); ok && parent == ppid {
			kids = append(kids, pid)
		}
	}
	return kids
}

// running reports whether pid exists and is not a zombie. pid reuse within
// the few milliseconds of a Stop is not a concern worth the complexity.
func running(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// procStat reads the parent pid and state from /proc/PID/stat. The command
// name may contain spaces and parentheses, so fields are taken after the
// last ')'.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(string(f[1]))
	return ppid, f[0][0], err == nil
}
