package emulation

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/internal/ttymodes"
)

// ErrNoPTY is returned by Process.Resize for a session without a pty.
var ErrNoPTY = errors.New("emulation: session has no pty")

// PTY is a pty-req: the session gets a pseudo-terminal as its stdin, stdout
// and stderr instead of pipes. The terminal type is Request.Term.
type PTY struct {
	Rows, Cols    int // characters; 0 as ssh sends when its stdin is no terminal
	Width, Height int // pixels, usually 0
	// Modes are the client's terminal modes, by RFC 4254 name ("VINTR",
	// "ECHO", "TTY_OP_ISPEED", ...), applied over the kernel's defaults as
	// sshd's tty_parse_modes does. Unknown names are ignored.
	Modes map[string]uint32
}

func (w PTY) winsize() *unix.Winsize {
	return &unix.Winsize{Row: clamp16(w.Rows), Col: clamp16(w.Cols), Xpixel: clamp16(w.Width), Ypixel: clamp16(w.Height)}
}

// clamp16 fits an SSH uint32 into the kernel's unsigned short; sshd
// truncates, but a negative or huge size is only ever a bug.
func clamp16(n int) uint16 {
	switch {
	case n < 0:
		return 0
	case n > 0xffff:
		return 0xffff
	}
	return uint16(n)
}

// newPTYProcess allocates the pty as sshd's session_pty_req does: size and
// modes set before the child starts. The child gets the slave as fds 0-2;
// we keep the master for output and a dup of it for input, as sshd's
// channel does, so that closing input (client EOF, process exit) leaves
// the output readable until the kernel reports EIO.
func newPTYProcess(subsystem bool, w PTY, stdin io.Reader, stdout io.Writer) (*Process, *childFiles, error) {
	master, slave, err := openPTY()
	if err != nil {
		return nil, nil, fmt.Errorf("emulation: allocate pty: %w", err)
	}
	fail := func(err error) (*Process, *childFiles, error) {
		master.Close()
		slave.Close()
		return nil, nil, err
	}
	if err := applyModes(slave, w.Modes); err != nil {
		return fail(err)
	}
	if err := setsize(master, w); err != nil {
		return fail(err)
	}
	var fd int
	err = control(master, func(m int) (err error) {
		fd, err = unix.FcntlInt(uintptr(m), unix.F_DUPFD_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return fail(fmt.Errorf("emulation: dup pty: %w", err))
	}
	p := &Process{
		subsystem: subsystem,
		tty:       master,
		ttyName:   slave.Name(),
		stdin:     os.NewFile(uintptr(fd), master.Name()),
		outputs:   [2]*os.File{master, nil},
		exitedC:   make(chan struct{}),
		doneC:     make(chan struct{}),
	}
	p.copies.Add(1)
	go p.copyOut(0, stdout)
	if stdin == nil {
		p.stdin.Close()
	} else {
		go p.copyIn(stdin)
	}
	return p, &childFiles{stdin: slave, stdout: slave, stderr: slave}, nil
}

// openPTY is posix_openpt, unlockpt and open(ptsname). The master is opened
// non-blocking and never touched through File.Fd (unlike creack/pty.Open,
// whose ioctls switch it to blocking mode), so that it stays in Go's poller
// and Close interrupts its reader: otherwise the close is deferred until the
// read returns, which is never while the session runs, and the terminal is
// never hung up.
func openPTY() (master, slave *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err == nil {
		err = unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0)
	}
	if err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	// Blocking, since the children share this open file description.
	sfd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), os.NewFile(uintptr(sfd), name), nil
}

// OpenPTY opens a pseudo-terminal pair, the master non-blocking in Go's poller (see openPTY).
func OpenPTY() (master, slave *os.File, err error) { return openPTY() }

// ptyAttr makes the slave (the child's fd 0) the controlling terminal of
// the child's new session, as sshd's pty_make_controlling_tty does.
func ptyAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
}

// Resize delivers a "window-change" request: TIOCSWINSZ on the pty, which
// sends SIGWINCH to the terminal's foreground process group.
func (p *Process) Resize(w PTY) error {
	if p.tty == nil {
		return ErrNoPTY
	}
	return setsize(p.tty, w)
}

func setsize(master *os.File, w PTY) error {
	err := control(master, func(fd int) error {
		return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, w.winsize())
	})
	if err != nil {
		return fmt.Errorf("emulation: set pty size: %w", err)
	}
	return nil
}

// control runs f on the master's descriptor without File.Fd, which would
// switch the master to blocking mode (see openPTY).
func control(master *os.File, f func(fd int) error) error {
	rc, err := master.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// TTY is the name of the session's pty slave ("/dev/pts/3"), "" without one.
func (p *Process) TTY() string { return p.ttyName }

// ptyEnd reports whether err is how a pty master says that every slave
// holder is gone: Linux returns EIO rather than EOF.
func ptyEnd(err error) bool { return errors.Is(err, syscall.EIO) }

// applyModes is sshd's tty_parse_modes on the new pty (see ttymodes.Apply).
func applyModes(slave *os.File, modes map[string]uint32) error {
	if err := ttymodes.Apply(int(slave.Fd()), modes); err != nil {
		return fmt.Errorf("emulation: %w", err)
	}
	return nil
}

// newSessionProcess gives the session a pty or, like sshd without a
// pty-req, three pipes.
func newSessionProcess(req Request, stdin io.Reader, stdout, stderr io.Writer) (*Process, *childFiles, error) {
	if req.PTY != nil {
		return newPTYProcess(req.Subsystem != "", *req.PTY, stdin, stdout)
	}
	return newProcess(req.Subsystem != "", stdin, stdout, stderr)
}

// withTTY sets SSH_TTY, which sshd sets over anything the client sent.
func withTTY(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "SSH_TTY=") {
			out = append(out, kv)
		}
	}
	return append(out, "SSH_TTY="+name)
}
