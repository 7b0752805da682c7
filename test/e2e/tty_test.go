package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ttyClosed is ssh's last line after a session with a pty: the resolved HostName, and "\r\n".
const ttyClosed = "Connection to 127.0.0.1 closed.\r\n"

// ttyClosedOnTerminal is ttyClosed on a terminal that ssh has just set back to cooked mode.
const ttyClosedOnTerminal = "Connection to 127.0.0.1 closed.\r\r\n"

// ttyNoTerminal is logged by ssh, whose log lines on stderr end in "\r\n".
const ttyNoTerminal = "Pseudo-terminal will not be allocated because stdin is not a terminal.\r\n"

// ttyEnvTerm prints the TERM that sshd put in the shell's environment (bash sets TERM=dumb for
// itself when there is none, so $TERM would not tell), and whether SSH_TTY is set.
const ttyEnvTerm = `printf '%s|%s\n' "$(tr '\0' '\n' </proc/$$/environ | grep ^TERM= || echo unset)" "${SSH_TTY:+set}"`

// TestTTYRequests runs each case with stdin not a terminal, through fakessh and through
// OpenSSH's ssh, and wants the same stdout, stderr and status from both.
func TestTTYRequests(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		name   string
		args   []string
		stdout string // regexp for stdout
		stderr string
		code   int
	}{
		{"-tt forces a pty", []string{"-tt", "target", "tty"}, `^/dev/pts/\d+\r\n$`, ttyClosed, 0},
		{"-T none", []string{"-T", "target", "tty"}, `^not a tty\n$`, "", 1},
		{"-t without a terminal", []string{"-t", "target", "tty"}, `^not a tty\n$`, ttyNoTerminal, 1},
		{"-t -q says nothing", []string{"-t", "-q", "target", "tty"}, `^not a tty\n$`, "", 1},
		{"RequestTTY=force", []string{"-o", "RequestTTY=force", "target", "tty"}, `^/dev/pts/\d+\r\n$`, ttyClosed, 0},
		{"RequestTTY=yes is -t", []string{"-o", "RequestTTY=yes", "target", "tty"}, `^not a tty\n$`, ttyNoTerminal, 1},
		{"-t -t is -tt", []string{"-t", "-t", "target", "tty"}, `^/dev/pts/\d+\r\n$`, ttyClosed, 0},
		{"-tt -T is none", []string{"-tt", "-T", "target", "tty"}, `^not a tty\n$`, "", 1},
		{"-tt -q has no closing line", []string{"-tt", "-q", "target", "tty"}, `^/dev/pts/\d+\r\n$`, "", 0},
		{"-tt size from no terminal", []string{"-tt", "target", "stty size"}, `^0 0\r\n$`, ttyClosed, 0},
		{"-tt stderr on the pty", []string{"-tt", "target", "echo err >&2; exit 3"}, `^err\r\n$`, ttyClosed, 3},
		{"-tt environment", []string{"-tt", "target", ttyEnvTerm}, `^unset\|set\r\n$`, ttyClosed, 0},
		{"-T environment", []string{"-T", "target", ttyEnvTerm}, `^unset\|\n$`, "", 0},
		{"no command: a pty unless stdin is no terminal", []string{"target"}, `^$`, ttyNoTerminal, 0},
		{"no command -T", []string{"-T", "target"}, `^$`, "", 0},
		{"-tt -n forces too", []string{"-tt", "-n", "target", "tty"}, `^/dev/pts/\d+\r\n$`, ttyClosed, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := r.ttyRun(nil, filepath.Join(binDir, "fakessh"), c.args...)
			if !regexp.MustCompile(c.stdout).MatchString(got.stdout) || got.stderr != c.stderr || got.code != c.code {
				t.Errorf("fakessh %q: stdout %q stderr %q exit %d, want %s %q %d", c.args, got.stdout, got.stderr, got.code, c.stdout, c.stderr, c.code)
			}
			// The same with OpenSSH, so that the expectations are ssh's.
			args := append([]string{"-F", r.srv.SSHConfig}, c.args...)
			ref := r.ttyRun(nil, "ssh", args...)
			if !regexp.MustCompile(c.stdout).MatchString(ref.stdout) || ref.stderr != c.stderr || ref.code != c.code {
				t.Errorf("OpenSSH %q: stdout %q stderr %q exit %d, want %s %q %d", c.args, ref.stdout, ref.stderr, ref.code, c.stdout, c.stderr, c.code)
			}
		})
	}
}

// TestTTYTermPassed checks TERM from the local environment (and from SetEnv, which wins) and
// none when TERM is unset, as sshd sets no TERM for an empty pty-req terminal.
func TestTTYTermPassed(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		name  string
		env   []string
		extra []string
		want  string
	}{
		{"local TERM", []string{"TERM=xterm-test"}, nil, "TERM=xterm-test|set\r\n"},
		{"TERM unset", nil, nil, "unset|set\r\n"},
		{"SetEnv wins", []string{"TERM=xterm-test"}, []string{"-o", "SetEnv=TERM=vt-setenv"}, "TERM=vt-setenv|set\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"-tt"}, c.extra...), "target", ttyEnvTerm)
			got := r.ttyRunEnv(c.env, filepath.Join(binDir, "fakessh"), args...)
			if got.stdout != c.want || got.code != 0 {
				t.Errorf("stdout %q exit %d (stderr %q), want %q", got.stdout, got.code, got.stderr, c.want)
			}
		})
	}
}

// TestTTYWindowChange runs fakessh on a terminal of its own: the size is passed, a resize of
// the local terminal reaches the remote pty, the local terminal is raw during the session, and
// it is restored afterwards.
func TestTTYWindowChange(t *testing.T) {
	r := newRig(t)
	term := r.ttyStart(t, &pty.Winsize{Rows: 31, Cols: 97}, filepath.Join(binDir, "fakessh"), "-t", "target",
		// dash runs the trap while read waits (bash only after it returns), and read then fails.
		`exec /bin/sh -c 'trap "echo winch" WINCH; stty size; echo ready; until read x; do :; done; stty size; echo "got $x"'`)
	term.waitFor(t, "ready\r\n")
	if !strings.Contains(term.output(), "31 97\r\n") {
		t.Errorf("first size: output %q, want 31 97", term.output())
	}
	raw, err := unix.IoctlGetTermios(int(term.tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Lflag&(unix.ECHO|unix.ICANON|unix.ISIG) != 0 || raw.Oflag&unix.OPOST != 0 {
		t.Errorf("local terminal not raw during the session: lflag %#o oflag %#o", raw.Lflag, raw.Oflag)
	}
	// The resize sends SIGWINCH to fakessh; the trap shows that it reached the remote pty.
	if err := pty.Setsize(term.ptmx, &pty.Winsize{Rows: 50, Cols: 132}); err != nil {
		t.Fatal(err)
	}
	term.waitFor(t, "winch\r\n")
	if _, err := term.ptmx.WriteString("line\r"); err != nil {
		t.Fatal(err)
	}
	term.waitFor(t, "got line\r\n")
	if out := term.output(); !strings.Contains(out, "50 132\r\n") {
		t.Errorf("size after resize: output %q, want 50 132", out)
	}
	if code := term.wait(t); code != 0 {
		t.Errorf("exit %d, output %q", code, term.output())
	}
	if !strings.HasSuffix(term.output(), ttyClosedOnTerminal) {
		t.Errorf("output %q does not end with %q", term.output(), ttyClosedOnTerminal)
	}
	term.checkRestored(t)
}

// TestTTYRestoredOnFailureAndSignal checks that the local terminal comes back from raw mode when
// the remote command fails and when fakessh is told to stop.
func TestTTYRestoredOnFailureAndSignal(t *testing.T) {
	r := newRig(t)
	t.Run("exit status", func(t *testing.T) {
		term := r.ttyStart(t, &pty.Winsize{Rows: 24, Cols: 80}, filepath.Join(binDir, "fakessh"), "-t", "target", "exit 7")
		if code := term.wait(t); code != 7 {
			t.Errorf("exit %d, want 7; output %q", code, term.output())
		}
		term.checkRestored(t)
	})
	t.Run("SIGTERM", func(t *testing.T) {
		term := r.ttyStart(t, &pty.Winsize{Rows: 24, Cols: 80}, filepath.Join(binDir, "fakessh"), "-t", "target", "echo ready; sleep 60")
		term.waitFor(t, "ready\r\n")
		term.cmd.Process.Signal(syscall.SIGTERM)
		code := term.wait(t)
		if code == 0 {
			t.Errorf("exit 0 after SIGTERM")
		}
		if strings.Contains(term.output(), "closed.") {
			t.Errorf("output %q: ssh prints no closing line when killed", term.output())
		}
		term.checkRestored(t)
	})
}

// TestTTYModesAsOpenSSH compares the remote pty's settings (stty -a: modes, special characters,
// size) under fakessh and under OpenSSH, both run on a local terminal with unusual settings.
func TestTTYModesAsOpenSSH(t *testing.T) {
	r := newRig(t)
	settings := func(prog string, args ...string) string {
		term := r.ttyStartWith(t, &pty.Winsize{Rows: 40, Cols: 120}, func(tio *unix.Termios) {
			tio.Cc[unix.VERASE] = 'H' - '@'
			tio.Cc[unix.VKILL] = 0
			tio.Iflag |= unix.IXANY
			tio.Lflag &^= unix.ECHOCTL
		}, prog, args...)
		if code := term.wait(t); code != 0 {
			t.Fatalf("%s: exit %d, output %q", prog, code, term.output())
		}
		return term.output()
	}
	got := settings(filepath.Join(binDir, "fakessh"), "-t", "target", "stty -a")
	want := settings("ssh", "-F", r.srv.SSHConfig, "-t", "target", "stty -a")
	if got != want {
		t.Errorf("fakessh's remote pty:\n%s\nOpenSSH's:\n%s", got, want)
	}
	if !strings.Contains(got, "erase = ^H") || !strings.Contains(got, "rows 40; columns 120") {
		t.Errorf("stty -a %q lacks the local erase character or size", got)
	}
}

// ttyRun runs prog with stdin, stdout and stderr not terminals.
func (r *rig) ttyRun(extraEnv []string, prog string, args ...string) result {
	r.t.Helper()
	return r.ttyRunEnv(extraEnv, prog, args...)
}

// ttyRunEnv is r.run without TERM from the test's environment, plus extraEnv.
func (r *rig) ttyRunEnv(extraEnv []string, prog string, args ...string) result {
	r.t.Helper()
	return r.runWith(func(cmd *exec.Cmd) { cmd.Env = append(ttyEnvWithoutTerm(r.env), extraEnv...) }, prog, args...)
}

func ttyEnvWithoutTerm(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TERM=") {
			out = append(out, kv)
		}
	}
	return out
}

// ttyTerm is a program running on a terminal the test owns: the test holds the master, to type
// and read, and the slave, to inspect the modes the program leaves behind.
type ttyTerm struct {
	cmd       *exec.Cmd
	ptmx, tty *os.File
	before    *unix.Termios

	mu     sync.Mutex
	out    bytes.Buffer
	more   chan struct{} // signalled after each read
	readDn chan struct{}
}

func (r *rig) ttyStart(t *testing.T, size *pty.Winsize, prog string, args ...string) *ttyTerm {
	return r.ttyStartWith(t, size, nil, prog, args...)
}

// ttyStartWith starts prog as the session leader of a new terminal of the given size, whose
// modes adjust has changed first.
func (r *rig) ttyStartWith(t *testing.T, size *pty.Winsize, adjust func(*unix.Termios), prog string, args ...string) *ttyTerm {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	if err := pty.Setsize(ptmx, size); err != nil {
		t.Fatal(err)
	}
	fd := int(tty.Fd())
	if adjust != nil {
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		adjust(tio)
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
			t.Fatal(err)
		}
	}
	before, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prog, args...)
	cmd.Env = append(ttyEnvWithoutTerm(r.env), "TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	term := &ttyTerm{cmd: cmd, ptmx: ptmx, tty: tty, before: before, more: make(chan struct{}, 1), readDn: make(chan struct{})}
	t.Cleanup(func() { cmd.Process.Kill() })
	go term.read()
	return term
}

func (tt *ttyTerm) read() {
	defer close(tt.readDn)
	buf := make([]byte, 4096)
	for {
		n, err := tt.ptmx.Read(buf)
		tt.mu.Lock()
		tt.out.Write(buf[:n])
		tt.mu.Unlock()
		select {
		case tt.more <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

func (tt *ttyTerm) output() string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.out.String()
}

// waitFor waits until the output contains s.
func (tt *ttyTerm) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	for !strings.Contains(tt.output(), s) {
		select {
		case <-tt.more:
		case <-tt.readDn:
			if !strings.Contains(tt.output(), s) {
				t.Fatalf("terminal closed without %q; output %q", s, tt.output())
			}
		case <-deadline.C:
			t.Fatalf("no %q after a minute; output %q", s, tt.output())
		}
	}
}

// wait waits for the program to exit and returns its status. The test still holds the slave,
// so the master never reads EIO; output written before the exit has been read once a final
// marker written by the test itself comes through.
func (tt *ttyTerm) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- tt.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatalf("still running after a minute; output %q", tt.output())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	const marker = "\x00end-of-test-output\x00"
	if _, err := tt.tty.WriteString(marker); err != nil {
		t.Fatal(err)
	}
	tt.waitFor(t, marker)
	tt.mu.Lock()
	s := strings.TrimSuffix(tt.out.String(), marker)
	tt.out.Reset()
	tt.out.WriteString(s)
	tt.mu.Unlock()
	return code
}

// checkRestored compares the terminal's modes with those before the program ran.
func (tt *ttyTerm) checkRestored(t *testing.T) {
	t.Helper()
	after, err := unix.IoctlGetTermios(int(tt.tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	b := tt.before
	if after.Iflag != b.Iflag || after.Oflag != b.Oflag || after.Cflag != b.Cflag || after.Lflag != b.Lflag || after.Cc != b.Cc {
		t.Errorf("terminal not restored: iflag %#o oflag %#o cflag %#o lflag %#o cc %v, before %#o %#o %#o %#o %v",
			after.Iflag, after.Oflag, after.Cflag, after.Lflag, after.Cc, b.Iflag, b.Oflag, b.Cflag, b.Lflag, b.Cc)
	}
}
