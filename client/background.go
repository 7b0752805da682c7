package client

import (
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// forkBackground is the foreground half of -f: it runs fakessh again, detached in its own
// session with stdin on /dev/null, and exits 0 once the child reports its forwards are up, or
// with the child's status if it fails first (the child has printed why). It re-executes
// os.Args, so Run's args must be os.Args[1:].
func (s *session) forkBackground() error {
	exe, err := os.Executable()
	if err != nil {
		return &Error{Msg: "fakessh: -f: " + err.Error(), Err: err}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return &Error{Msg: "fakessh: -f: " + err.Error(), Err: err}
	}
	defer r.Close()
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(slices.Clone(s.stdio.Environ), fwdReadyEnv+"=3")
	cmd.Stdout, cmd.Stderr = s.stdio.Stdout, s.stdio.Stderr
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return &Error{Msg: "fakessh: -f: " + err.Error(), Err: err}
	}
	var b [1]byte
	if n, _ := r.Read(b[:]); n == 1 {
		cmd.Process.Release()
		return &ExitError{Status: 0}
	}
	cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if code < 0 {
		code = 255
	}
	return &ExitError{Status: code}
}

// detach is the background half of -f, once the forwards are up: like ssh's fork_postauth it
// stops printing its own messages and, with no command whose output still goes there, points
// stdin, stdout and stderr at /dev/null; then it tells the foreground process to exit.
func (f *forwarder) detach(readyFD string, noCommand bool) {
	f.mu.Lock()
	f.log = io.Discard
	f.mu.Unlock()
	if noCommand {
		if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
			for fd := range 3 {
				unix.Dup3(int(null.Fd()), fd, 0)
			}
			null.Close()
		}
	}
	fd, err := strconv.Atoi(readyFD)
	if err != nil {
		return
	}
	ready := os.NewFile(uintptr(fd), "ready")
	ready.Write([]byte{1})
	ready.Close()
}
