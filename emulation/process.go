package emulation

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
)

// ErrSignal is returned by Process.Signal for a request sshd refuses.
var ErrSignal = errors.New("emulation: signal refused")

// Result is how a process ended: what sshd reports as exit-status or
// exit-signal.
type Result struct {
	Status     int    // exit code; -1 when killed by a signal
	Signal     string // ssh signal name ("KILL", "SIG@openssh.com" for others)
	CoreDumped bool
	Err        error // waiting failed, or copying output failed
}

// Process is a running session command.
type Process struct {
	proc      *os.Process // nil when the shell could not be executed
	subsystem bool
	stdin     *os.File    // our end of the child's stdin
	outputs   [2]*os.File // our ends of the child's stdout and stderr; with a pty, the master and nil
	tty       *os.File    // the pty master, nil without a pty
	ttyName   string
	copyErr   [2]error
	copies    sync.WaitGroup

	mu     sync.Mutex
	exited bool // the pid is a zombie or gone: no more signals

	exitedC chan struct{}
	doneC   chan struct{}
	exit    Result
}

// childFiles are the child's ends of the pipes, closed by Start once the
// children hold them, so that EOF on our ends means every holder is gone.
type childFiles struct{ stdin, stdout, stderr *os.File }

func (c *childFiles) close() {
	c.stdin.Close()
	c.stdout.Close()
	c.stderr.Close()
}

// newProcess makes the three pipes and starts copying them; sshd uses
// pipes for sessions without a pty too.
func newProcess(subsystem bool, stdin io.Reader, stdout, stderr io.Writer) (*Process, *childFiles, error) {
	var fds [6]*os.File
	for i := 0; i < 6; i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			for _, f := range fds[:i] {
				f.Close()
			}
			return nil, nil, fmt.Errorf("emulation: pipe: %w", err)
		}
		fds[i], fds[i+1] = r, w
	}
	p := &Process{
		subsystem: subsystem,
		stdin:     fds[1],
		outputs:   [2]*os.File{fds[2], fds[4]},
		exitedC:   make(chan struct{}),
		doneC:     make(chan struct{}),
	}
	child := &childFiles{stdin: fds[0], stdout: fds[3], stderr: fds[5]}
	for i, w := range []io.Writer{stdout, stderr} {
		p.copies.Add(1)
		go p.copyOut(i, w)
	}
	if stdin == nil {
		p.stdin.Close()
	} else {
		go p.copyIn(stdin)
	}
	return p, child, nil
}

// copyIn feeds stdin until it ends, then closes the child's stdin so that
// it sees EOF. Nothing waits for it: a process that never reads stdin must
// still be able to finish while the reader blocks.
func (p *Process) copyIn(r io.Reader) {
	io.Copy(p.stdin, r)
	p.stdin.Close()
}

func (p *Process) copyOut(i int, w io.Writer) {
	defer p.copies.Done()
	if w == nil {
		w = io.Discard
	}
	_, err := io.Copy(w, p.outputs[i])
	if ptyEnd(err) {
		err = nil
	}
	// Closing our end makes a writer that we no longer drain fail with
	// EPIPE instead of blocking forever.
	p.outputs[i].Close()
	if err != nil && !errors.Is(err, os.ErrClosed) {
		p.copyErr[i] = fmt.Errorf("emulation: copy output: %w", err)
	}
}

func (p *Process) run(proc *os.Process) {
	p.proc = proc
	go p.reap()
}

// reap follows sshd's session_exit_message: at exit, the status is known
// and stdin is closed, but output is read on until EOF.
func (p *Process) reap() {
	res := Result{Status: 1}
	if p.proc != nil {
		waitable(p.proc.Pid)
		p.mu.Lock()
		p.exited = true
		p.mu.Unlock()
		res = resultOf(p.proc.Wait())
	}
	p.stdin.Close()
	p.exit = res
	close(p.exitedC)
	p.copies.Wait()
	close(p.doneC)
}

func resultOf(st *os.ProcessState, err error) Result {
	if err != nil {
		return Result{Status: -1, Err: fmt.Errorf("emulation: wait: %w", err)}
	}
	ws := st.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return Result{Status: -1, Signal: signalName(ws.Signal()), CoreDumped: ws.CoreDump()}
	}
	return Result{Status: ws.ExitStatus()}
}

// Exited is closed when the process has exited, possibly before its output
// has all been copied: the moment sshd sends exit-status.
func (p *Process) Exited() <-chan struct{} { return p.exitedC }

// ExitResult waits for the process to exit and returns its result, without
// waiting for its output. Err is set only if waiting failed.
func (p *Process) ExitResult() Result {
	<-p.exitedC
	return p.exit
}

// Wait returns once the process has exited and its stdout and stderr have
// reached EOF. Like sshd, it keeps waiting while a background child still
// holds them open (`sleep 100 &`); Close gives up on them.
func (p *Process) Wait() Result {
	<-p.doneC
	r := p.exit
	for _, err := range p.copyErr {
		if r.Err == nil {
			r.Err = err
		}
	}
	return r
}

// Close abandons the session as sshd does when its channel goes away: it
// closes our ends of the pipes so that Wait returns once the process has
// exited. It sends no signal: processes of a session without a pty outlive
// it under sshd as well. With a pty, closing the master hangs the terminal
// up, which sends SIGHUP to its session, as sshd's session_pty_cleanup does.
func (p *Process) Close() error {
	p.stdin.Close()
	for _, f := range p.outputs {
		if f != nil {
			f.Close()
		}
	}
	return nil
}

// Signal delivers an ssh "signal" request. Like sshd it accepts only the
// signals sshd's name2sig knows, refuses subsystems, and signals the
// process group (the session), so a shell's children get it too.
func (p *Process) Signal(name string) error {
	sig, ok := sshSignals[name]
	if !ok {
		return fmt.Errorf("emulation: unsupported signal %q: %w", name, ErrSignal)
	}
	if p.subsystem {
		return fmt.Errorf("emulation: signal %s to a subsystem: %w", name, ErrSignal)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil || p.exited {
		return fmt.Errorf("emulation: signal %s: %w", name, os.ErrProcessDone)
	}
	if err := syscall.Kill(-p.proc.Pid, sig); err != nil {
		return fmt.Errorf("emulation: killpg %d %s: %w", p.proc.Pid, name, err)
	}
	return nil
}
