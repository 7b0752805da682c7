// Package ttymodes is RFC 4254's terminal modes as OpenSSH's ttymodes.h has them on Linux: Read
// encodes a local terminal for a pty-req (fakessh's side), Apply sets them on a new pty (the
// agent's side), from one table as ssh and sshd share one.
//
// It is not a pty allocator and does not put terminals in raw mode.
package ttymodes

import (
	"fmt"

	"golang.org/x/sys/unix"
)

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

// Disabled is how SSH encodes a disabled special character; Linux's
// _POSIX_VDISABLE is 0.
const Disabled = 255

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

// Read describes the terminal on fd the way ssh's tty_make_modes encodes it
// for a pty-req.
func Read(fd int) (map[string]uint32, error) {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("ttymodes: %w", err)
	}
	modes := make(map[string]uint32, len(ttyModes)+2)
	for _, m := range ttyModes {
		if m.cc >= 0 {
			c := uint32(t.Cc[m.cc])
			if c == 0 {
				c = Disabled
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

// Apply is sshd's tty_parse_modes on the terminal fd: each mode the client
// sent overrides the new pty's default.
func Apply(fd int, modes map[string]uint32) error {
	if len(modes) == 0 {
		return nil
	}
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("ttymodes: %w", err)
	}
	for _, m := range ttyModes {
		v, ok := modes[m.name]
		switch {
		case !ok:
		case m.cc >= 0:
			if v == Disabled {
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
		return fmt.Errorf("ttymodes: %w", err)
	}
	return nil
}
