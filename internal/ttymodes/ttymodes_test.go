package ttymodes

import (
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// TestTerminalModesRoundTrip checks that modes read from one terminal and
// applied to a fresh pty reproduce the termios that matter.
func TestTerminalModesRoundTrip(t *testing.T) {
	src, srcTTY, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	defer srcTTY.Close()
	fd := int(srcTTY.Fd())
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ECHO | unix.ICANON
	tio.Iflag |= unix.IXANY
	tio.Cc[unix.VERASE] = 'H' - '@'
	tio.Cc[unix.VKILL] = 0
	tio.Cflag = tio.Cflag&^unix.CBAUD | unix.B9600
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	modes, err := Read(fd)
	if err != nil {
		t.Fatal(err)
	}
	if modes["VKILL"] != Disabled || modes["ECHO"] != 0 || modes["TTY_OP_OSPEED"] != 9600 {
		t.Errorf("modes %v: want VKILL disabled (255), ECHO 0, speed 9600", modes)
	}

	dst, dstTTY, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	defer dstTTY.Close()
	if err := Apply(int(dstTTY.Fd()), modes); err != nil {
		t.Fatal(err)
	}
	got, err := unix.IoctlGetTermios(int(dstTTY.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if got.Iflag != tio.Iflag || got.Oflag != tio.Oflag || got.Lflag != tio.Lflag || got.Cflag != tio.Cflag {
		t.Errorf("flags i%#o o%#o c%#o l%#o, want i%#o o%#o c%#o l%#o",
			got.Iflag, got.Oflag, got.Cflag, got.Lflag, tio.Iflag, tio.Oflag, tio.Cflag, tio.Lflag)
	}
	for _, m := range ttyModes {
		if m.cc >= 0 && got.Cc[m.cc] != tio.Cc[m.cc] {
			t.Errorf("%s = %d, want %d", m.name, got.Cc[m.cc], tio.Cc[m.cc])
		}
	}
}
