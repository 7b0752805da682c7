package client

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ttyPath is the controlling terminal, where ssh asks its questions whatever stdin and
// stderr are.
const ttyPath = "/dev/tty"

func openTTY() (*os.File, error) { return os.OpenFile(ttyPath, os.O_RDWR, 0) }

// maxAnswer is what fits readpassphrase's buffer in read_passphrase (1024 with the NUL);
// the rest of a longer line is read and dropped.
const maxAnswer = 1023

// readTTY is readpassphrase(3) with RPP_REQUIRE_TTY, as OpenSSH's own copy does it: echo off
// (and ECHONL) unless echo, the prompt on the terminal, the answer read up to a newline or a
// carriage return, a newline written if echo is off, and the terminal restored. Input typed
// ahead is discarded on the way in, and on the way out when the modes were changed, as
// TCSAFLUSH does. End of file is an answer, what was typed so far; no terminal, a read error,
// a termination signal or close is none. The terminal is restored on every one of those paths.
func (p *prompter) readTTY(prompt string, echo bool) (string, error) {
	tty, err := openTTY()
	if err != nil {
		return "", &unanswered{} // readpassphrase fails with ENOTTY; read_passphrase gives ""
	}
	defer tty.Close()
	finish := echoOff(tty, echo)
	defer finish()
	stop := p.interrupts(tty, finish)
	defer stop()
	tty.WriteString(prompt)
	answer, err := readLine(tty)
	finish()
	if err != nil || p.stopped() {
		return "", &unanswered{}
	}
	return answer, nil
}

// echoOff sets tty's modes as readpassphrase does and returns what ends the question: the
// newline that echo did not write, then the old modes back. Only its first call counts.
func echoOff(tty *os.File, echo bool) (finish func()) {
	fd, _ := terminalFD(tty)
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {} // not a terminal after all: readpassphrase takes echo as on
	}
	set := *old
	if !echo {
		set.Lflag &^= unix.ECHO | unix.ECHONL
	}
	unix.IoctlSetTermios(fd, unix.TCSETSF, &set) // tcsetattr(TCSAFLUSH)
	return sync.OnceFunc(func() {
		if set.Lflag&unix.ECHO == 0 {
			tty.WriteString("\n")
		}
		if set != *old {
			unix.IoctlSetTermios(fd, unix.TCSETSF, old)
		}
	})
}

// interrupts ends the question at once when a termination signal comes or the prompter
// closes: the terminal is restored first, as readpassphrase's handler does before it lets the
// signal through, then the read wakes. The signal still reaches whoever else listens
// (fakessh's main ends the run), and the prompter asks nothing more.
func (p *prompter) interrupts(tty *os.File, finish func()) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-sigs:
			p.stop()
		case <-p.done:
		case <-quit:
			return
		}
		finish()
		tty.SetReadDeadline(time.Now())
	}()
	return func() {
		signal.Stop(sigs)
		close(quit)
		wg.Wait()
	}
}

// readLine reads one byte at a time, as readpassphrase does, so that with echo on (no flush
// on the way out) what follows the line stays for whoever reads the terminal next.
func readLine(r io.Reader) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' || b[0] == '\r' {
				return string(line), nil
			}
			if len(line) < maxAnswer {
				line = append(line, b[0])
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			return string(line), nil
		}
		if err != nil {
			return "", err
		}
	}
}
