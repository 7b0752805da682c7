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

// ttyMode is one RFC 4254 terminal mode: a special character (cc >= 0) or
// a flag bit in one of the termios flag words.
type ttyMode struct {
	name string
	cc   int  // index into Cc, or -1
	word byte // 'i', 'o', 'c', 'l' for Iflag, Oflag, Cflag, Lflag
	bit  uint32
}

// ttyModes are the modes OpenSSH's ttymodes.h sends and applies on Linux.
var ttyModes = []ttyMode{
	{"VINTR", unix.VINTR, 0, 0}, {"VQUIT", unix.VQUIT, 0, 0}, {"VERASE", unix.VERASE, 0, 0},
	{"VKILL", unix.VKILL, 0, 0}, {"VEOF", unix.VEOF, 0, 0}, {"VEOL", unix.VEOL, 0, 0},
	{"VEOL2", unix.VEOL2, 0, 0}, {"VSTART", unix.VSTART, 0, 0}, {"VSTOP", unix.VSTOP, 0, 0},
	{"VSUSP", unix.VSUSP, 0, 0}, {"VREPRINT", unix.VREPRINT, 0, 0}, {"VWERASE", unix.VWERASE, 0, 0},
	{"VLNEXT", unix.VLNEXT, 0, 0}, {"VDISCARD", unix.VDISCARD, 0, 0},
	{"IGNPAR", -1, 'i', unix.IGNPAR}, {"PARMRK", -1, 'i', unix.PARMRK}, {"INPCK", -1, 'i', unix.INPCK},
	{"ISTRIP", -1, 'i', unix.ISTRIP}, {"INLCR", -1, 'i', unix.INLCR}, {"IGNCR", -1, 'i', unix.IGNCR},
	{"ICRNL", -1, 'i', unix.ICRNL}, {"IUCLC", -1, 'i', unix.IUCLC}, {"IXON", -1, 'i', unix.IXON},
	{"IXANY", -1, 'i', unix.IXANY}, {"IXOFF", -1, 'i', unix.IXOFF}, {"IMAXBEL", -1, 'i', unix.IMAXBEL},
	{"IUTF8", -1, 'i', unix.IUTF8},
	{"ISIG", -1, 'l', unix.ISIG}, {"ICANON", -1, 'l', unix.ICANON}, {"XCASE", -1, 'l', unix.XCASE},
	{"ECHO", -1, 'l', unix.ECHO}, {"ECHOE", -1, 'l', unix.ECHOE}, {"ECHOK", -1, 'l', unix.ECHOK},
	{"ECHONL", -1, 'l', unix.ECHONL}, {"NOFLSH", -1, 'l', unix.NOFLSH}, {"TOSTOP", -1, 'l', unix.TOSTOP},
	{"IEXTEN", -1, 'l', unix.IEXTEN}, {"ECHOCTL", -1, 'l', unix.ECHOCTL}, {"ECHOKE", -1, 'l', unix.ECHOKE},
	{"PENDIN", -1, 'l', unix.PENDIN},
	{"OPOST", -1, 'o', unix.OPOST}, {"OLCUC", -1, 'o', unix.OLCUC}, {"ONLCR", -1, 'o', unix.ONLCR},
	{"OCRNL", -1, 'o', unix.OCRNL}, {"ONOCR", -1, 'o', unix.ONOCR}, {"ONLRET", -1, 'o', unix.ONLRET},
	{"CS7", -1, 'c', unix.CS7}, {"CS8", -1, 'c', unix.CS8}, {"PARENB", -1, 'c', unix.PARENB},
	{"PARODD", -1, 'c', unix.PARODD},
}

// vdisable is how SSH encodes a disabled special character; Linux's
// _POSIX_VDISABLE is 0.
const vdisable = 255

// bauds maps the termios speed codes to the bits per second SSH carries.
var bauds = map[uint32]uint32{
	unix.B0: 0, unix.B50: 50, unix.B75: 75, unix.B110: 110, unix.B134: 134, unix.B150: 150,
	unix.B200: 200, unix.B300: 300, unix.B600: 600, unix.B1200: 1200, unix.B1800: 1800,
	unix.B2400: 2400, unix.B4800: 4800, unix.B9600: 9600, unix.B19200: 19200, unix.B38400: 38400,
	unix.B57600: 57600, unix.B115200: 115200, unix.B230400: 230400,
}

func (m ttyMode) flags(t *unix.Termios) *uint32 {
	switch m.word {
	case 'i':
		return &t.Iflag
	case 'o':
		return &t.Oflag
	case 'c':
		return &t.Cflag
	}
	return &t.Lflag
}

// TerminalModes describes the terminal on fd the way ssh's tty_make_modes
// encodes it for a pty-req, for PTY.Modes. It lives here, beside the code
// that applies the modes, so that both ends share one table (as ssh and
// sshd share ttymodes.h).
func TerminalModes(fd int) (map[string]uint32, error) {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("emulation: terminal modes: %w", err)
	}
	modes := make(map[string]uint32, len(ttyModes)+2)
	for _, m := range ttyModes {
		if m.cc >= 0 {
			c := uint32(t.Cc[m.cc])
			if c == 0 {
				c = vdisable
			}
			modes[m.name] = c
		} else if *m.flags(t)&m.bit != 0 {
			modes[m.name] = 1
		} else {
			modes[m.name] = 0
		}
	}
	// Linux keeps one speed, in Cflag, for both directions (glibc's
	// cfgetispeed and cfgetospeed both read it).
	if b, ok := bauds[t.Cflag&unix.CBAUD]; ok {
		modes["TTY_OP_ISPEED"] = b
		modes["TTY_OP_OSPEED"] = b
	}
	return modes, nil
}

// applyModes is sshd's tty_parse_modes: each mode the client sent
// overrides the new pty's default.
func applyModes(slave *os.File, modes map[string]uint32) error {
	if len(modes) == 0 {
		return nil
	}
	fd := int(slave.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("emulation: pty modes: %w", err)
	}
	for _, m := range ttyModes {
		v, ok := modes[m.name]
		switch {
		case !ok:
		case m.cc >= 0:
			if v == vdisable {
				v = 0
			}
			t.Cc[m.cc] = uint8(v)
		case v != 0:
			*m.flags(t) |= m.bit
		default:
			*m.flags(t) &^= m.bit
		}
	}
	for _, name := range []string{"TTY_OP_ISPEED", "TTY_OP_OSPEED"} {
		if v, ok := modes[name]; ok {
			for code, b := range bauds {
				if b == v && v != 0 {
					t.Cflag = t.Cflag&^unix.CBAUD | code
				}
			}
		}
	}
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("emulation: pty modes: %w", err)
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
