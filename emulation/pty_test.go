package emulation

import (
	"bufio"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/internal/ttymodes"
)

// ptyRun runs command with a pty and returns its output with the pty's
// "\r\n" line ends turned back into "\n".
func ptyRun(t *testing.T, req Request, stdin io.Reader) (string, string, Result, *Process) {
	t.Helper()
	var out, errb strings.Builder
	p, err := Start(BaseEnv(bootstrap(t, "/bin/sh")), req, stdin, &out, &errb)
	if err != nil {
		t.Fatalf("start %+v: %v", req, err)
	}
	res := p.Wait()
	if res.Err != nil {
		t.Fatalf("wait: %v", res.Err)
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n"), errb.String(), res, p
}

func TestPTYSession(t *testing.T) {
	tests := []struct {
		name   string
		req    Request
		stdin  io.Reader
		want   string // regexp for the whole output
		status int
		signal string
	}{
		{"tty and environment",
			Request{Command: `tty; echo "$TERM|$SSH_TTY"`, Term: "xterm-test", PTY: &PTY{Rows: 33, Cols: 101}}, nil,
			`^(/dev/pts/\d+)\nxterm-test\|/dev/pts/\d+\n$`, 0, ""},
		{"empty term sets no TERM", // sshd drops an empty pty-req term
			Request{Command: `echo "${TERM-unset}"`, PTY: &PTY{}}, nil, `^unset\n$`, 0, ""},
		{"size", Request{Command: "stty size", PTY: &PTY{Rows: 33, Cols: 101}}, nil, `^33 101\n$`, 0, ""},
		{"no size as from a non-terminal", Request{Command: "stty size", PTY: &PTY{}}, nil, `^0 0\n$`, 0, ""},
		{"stderr merged", Request{Command: "echo out; echo err >&2; exit 3", PTY: &PTY{}}, nil, `^out\nerr\n$`, 3, ""},
		{"controlling terminal", Request{Command: "echo via >/dev/tty", PTY: &PTY{}}, nil, `^via\n$`, 0, ""},
		{"stdin echoed and read", Request{Command: `read x; echo "got $x"`, PTY: &PTY{}}, strings.NewReader("abc\n"),
			`^abc\ngot abc\n$`, 0, ""},
		{"signal", Request{Command: "kill -9 $$", PTY: &PTY{}}, nil, `^$`, -1, "KILL"},
		{"modes applied", Request{Command: "stty -a", PTY: &PTY{Modes: map[string]uint32{"ECHO": 0, "VINTR": 'X' - '@', "VQUIT": ttymodes.Disabled}}}, nil,
			`(?s)intr = \^X; quit = <undef>;.* -echo `, 0, ""},
		{"no pty", Request{Command: `tty; echo "${SSH_TTY-unset}"`}, nil, `^not a tty\nunset\n$`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, res, p := ptyRun(t, tt.req, tt.stdin)
			m := regexp.MustCompile(tt.want).FindStringSubmatch(out)
			if m == nil {
				t.Errorf("output %q does not match %q", out, tt.want)
			}
			if tt.req.PTY != nil && errOut != "" {
				t.Errorf("stderr %q, want everything on the pty", errOut)
			}
			if len(m) > 1 && m[1] != p.TTY() {
				t.Errorf("tty says %s, Process.TTY %s", m[1], p.TTY())
			}
			if res.Status != tt.status || res.Signal != tt.signal {
				t.Errorf("result %+v, want status %d signal %q", res, tt.status, tt.signal)
			}
		})
	}
}

func TestPTYResize(t *testing.T) {
	pr, pw := io.Pipe()
	in, inw := io.Pipe()
	p, err := Start(BaseEnv(bootstrap(t, "/bin/sh")), Request{
		Command: "stty size; read x; stty size", PTY: &PTY{Rows: 10, Cols: 20, Modes: map[string]uint32{"ECHO": 0}},
	}, in, pw, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(pr)
	if line, err := out.ReadString('\n'); line != "10 20\r\n" {
		t.Fatalf("first size %q, %v", line, err)
	}
	if err := p.Resize(PTY{Rows: 51, Cols: 132}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(inw, "go\n")
	if line, err := out.ReadString('\n'); line != "51 132\r\n" {
		t.Errorf("size after Resize %q, %v", line, err)
	}
	go io.Copy(io.Discard, out)
	if res := p.Wait(); res.Status != 0 {
		t.Errorf("result %+v", res)
	}
	pw.Close()
	inw.Close()

	q, err := Start(BaseEnv(bootstrap(t, "/bin/sh")), Request{Command: "true"}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	q.Wait()
	if err := q.Resize(PTY{Rows: 1, Cols: 1}); !errors.Is(err, ErrNoPTY) {
		t.Errorf("Resize without a pty = %v, want ErrNoPTY", err)
	}
}

// TestPTYOutputAfterExit checks that output written just before the
// session ends is all delivered although the master then reads EIO.
func TestPTYOutputAfterExit(t *testing.T) {
	out, _, res, _ := ptyRun(t, Request{Command: "seq 1 20000", PTY: &PTY{}}, nil)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if res.Status != 0 || len(lines) != 20000 || lines[len(lines)-1] != "20000" {
		t.Errorf("status %d, %d lines ending %q", res.Status, len(lines), lines[len(lines)-1])
	}
}

// TestPTYClose checks that abandoning a pty session hangs its terminal up,
// so the session ends although its command would run on.
func TestPTYClose(t *testing.T) {
	pr, pw := io.Pipe()
	p, err := Start(BaseEnv(bootstrap(t, "/bin/sh")), Request{Command: "echo ready; sleep 100", PTY: &PTY{}}, nil, pw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(pr).ReadString('\n'); line != "ready\r\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	go io.Copy(io.Discard, pr)
	p.Close()
	if res := p.ExitResult(); res.Signal != "HUP" {
		t.Errorf("result %+v, want HUP", res)
	}
	pw.Close()
}
