package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/syserr"
	"github.com/mitogen-go/mitogend/internal/ttymodes"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/tunnel"
)

const noTTYMessage = "Pseudo-terminal will not be allocated because stdin is not a terminal."

// ttySetup decides, as ssh does, whether the command gets a pty, and returns the request and
// what ends the session locally (see ttyEnd).
//
// Like ssh's client_loop, with a pty it puts a local terminal in raw mode (ssh's enter_raw_mode,
// not cfmakeraw), and ttyEnd.finish restores it and prints "Connection to HOST closed." at
// LogLevel INFO and above. A termination signal restores the terminal at once, since the
// session may take a while to end after it, and suppresses that message as in ssh.
func (s *session) ttySetup(opts *flagparse.Options) (*proto.PTYRequest, *ttyEnd, error) {
	cfg := s.ttyConfig(opts)
	fd, isTerm := terminalFD(s.stdio.Stdin)
	want, msg := wantTTY(cfg, opts.Command != "", isTerm)
	if msg && cfg.info {
		fmt.Fprint(s.stdio.Stderr, logLines(noTTYMessage)) // ssh's logit
	}
	if !want {
		return nil, &ttyEnd{cfg: cfg}, nil
	}
	req := &proto.PTYRequest{Term: cfg.term}
	if req.Term == "" {
		req.Term = s.stdio.getenv("TERM")
	}
	var saved *unix.Termios
	if isTerm {
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil {
			req.Cols, req.Rows, req.Width, req.Height = int(ws.Col), int(ws.Row), int(ws.Xpixel), int(ws.Ypixel)
		}
		saved = s.enterRawMode(cfg, fd, req)
	}
	return req, s.restorer(cfg, fd, saved), nil
}

// ttyOptions are the settings, from the command line or else the configuration files, that
// decide about a pty.
type ttyOptions struct {
	mode      flagparse.TTYMode
	remoteCmd bool   // RemoteCommand set: a command even when the command line has none
	stdinNull bool   // -n, StdinNull
	noSession bool   // -N, SessionType none
	info      bool   // LogLevel INFO or more: logit messages are shown
	errors    bool   // LogLevel ERROR or more: error messages are shown
	fatal     bool   // LogLevel FATAL or more: fatal messages are shown
	term      string // TERM from SetEnv
	host      string // ssh's "host": the resolved HostName, which "Connection to %s closed." names
}

// ttyConfig resolves the configuration as ssh has it when it decides about the pty. If the files
// cannot be read (the daemon, which read them already, would have said so) the command line
// alone decides.
func (s *session) ttyConfig(opts *flagparse.Options) ttyOptions {
	get := func(k string) string { v, _ := opts.Config.Get(k); return v }
	all := opts.Config.All
	host := opts.Host
	if o, hostName, ok := s.resolved(opts); ok {
		get, all = o.Get, o.All
		if hostName != "" {
			host = hostName
		}
	}
	c := ttyOptions{
		mode:      opts.TTY,
		remoteCmd: get("remotecommand") != "" && !strings.EqualFold(get("remotecommand"), "none"),
		stdinNull: opts.NoStdin || strings.EqualFold(get("stdinnull"), "yes"),
		noSession: opts.NoCommand || strings.EqualFold(get("sessiontype"), "none"),
		host:      host,
	}
	switch strings.ToLower(get("requesttty")) {
	case "no":
		c.mode = flagparse.TTYNo
	case "yes":
		c.mode = flagparse.TTYYes
	case "force":
		c.mode = flagparse.TTYForce
	}
	level := parseLogLevel(get("loglevel"))
	c.fatal, c.errors, c.info = level >= levelFatal, level >= levelError, level >= levelInfo
	for _, line := range all("setenv") {
		for _, kv := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(kv, "TERM="); ok && v != "" && c.term == "" {
				c.term = v
			}
		}
	}
	return c
}

// wantsPTY says, before the connect, what ttySetup will decide: a call that asks for a pty runs
// in the agent, not on a session channel of its own, so it is no early call.
func (s *session) wantsPTY(opts *flagparse.Options) bool {
	_, isTerm := terminalFD(s.stdio.Stdin)
	want, _ := wantTTY(s.ttyConfig(opts), opts.Command != "", isTerm)
	return want
}

// wantTTY is ssh.c's tty_flag logic: whether to request a pty, and whether to say that none
// will be allocated because stdin is not a terminal.
func wantTTY(c ttyOptions, haveCommand, stdinIsTerm bool) (want, msg bool) {
	want = c.mode == flagparse.TTYYes || c.mode == flagparse.TTYForce
	if !haveCommand && !c.remoteCmd {
		want = c.mode != flagparse.TTYNo // a login shell gets a pty by default
	}
	if c.mode == flagparse.TTYNo || c.noSession {
		want = false
	}
	if (!stdinIsTerm || c.stdinNull) && c.mode != flagparse.TTYForce {
		return false, want
	}
	return want, false
}

// terminalFD returns stdin's descriptor and whether it is a terminal. It reads the descriptor
// through SyscallConn rather than Fd, which would switch a pollable stdin to blocking mode.
func terminalFD(r io.Reader) (int, bool) {
	sc, ok := r.(syscall.Conn)
	if !ok {
		return -1, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, false
	}
	fd := -1
	if rc.Control(func(u uintptr) { fd = int(u) }) != nil {
		return -1, false
	}
	_, err = unix.IoctlGetTermios(fd, unix.TCGETS)
	return fd, err == nil
}

// enterRawMode is ssh's enter_raw_mode: it saves the terminal's modes, which also go in the
// pty-req (ssh sends get_saved_tio()), and switches the terminal to rawTermios. It returns the
// modes to restore, nil if the terminal could not be switched.
func (s *session) enterRawMode(cfg ttyOptions, fd int, req *proto.PTYRequest) *unix.Termios {
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil
	}
	req.Modes, _ = ttymodes.Read(fd)
	raw := rawTermios(*saved)
	if err := unix.IoctlSetTermios(fd, unix.TCSETSW, &raw); err != nil {
		if cfg.mode != flagparse.TTYForce {
			fmt.Fprintf(s.stdio.Stderr, "tcsetattr: %s\n", syserr.Text(err))
		}
		return nil
	}
	return saved
}

// rawTermios is ssh's enter_raw_mode: no signals, echo, line editing, flow control or output
// processing, so that every key reaches the remote pty, which does all of that itself.
func rawTermios(t unix.Termios) unix.Termios {
	t.Iflag |= unix.IGNPAR
	t.Iflag &^= unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXANY | unix.IXOFF | unix.IUCLC
	t.Lflag &^= unix.ISIG | unix.ICANON | unix.ECHO | unix.ECHOE | unix.ECHOK | unix.ECHONL | unix.IEXTEN
	t.Oflag &^= unix.OPOST
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return t
}

// ttyEnd ends a session locally: for a pty, ssh's leave_raw_mode and its "Connection to HOST
// closed." line. The zero value (no pty) does nothing.
type ttyEnd struct {
	cfg    ttyOptions
	pty    bool
	leave  func() // restores the terminal; only the first call counts
	signal func() // stops watching for termination signals

	mu    sync.Mutex
	quiet bool // no closing line: a signal came, or the session died as ssh's fatal() would
}

// restorer returns the ttyEnd of a pty session. A termination signal restores the terminal at
// once.
func (s *session) restorer(cfg ttyOptions, fd int, saved *unix.Termios) *ttyEnd {
	var once sync.Once
	e := &ttyEnd{cfg: cfg, pty: true}
	e.leave = func() {
		once.Do(func() {
			if saved != nil {
				// TCSETSW is tcsetattr(TCSADRAIN): output already written is shown first.
				if err := unix.IoctlSetTermios(fd, unix.TCSETSW, saved); err != nil && cfg.mode != flagparse.TTYForce {
					fmt.Fprintf(s.stdio.Stderr, "tcsetattr: %s\n", syserr.Text(err))
				}
			}
		})
	}
	sigs := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case <-sigs:
			e.abandon()
		case <-done:
		}
	}()
	e.signal = func() {
		signal.Stop(sigs)
		close(done)
	}
	return e
}

// abandon restores the terminal now, and the session ends without the closing line.
func (e *ttyEnd) abandon() {
	if !e.pty {
		return
	}
	e.mu.Lock()
	e.quiet = true
	e.mu.Unlock()
	e.leave()
}

// finish restores the terminal and, unless abandoned, prints the closing line.
func (e *ttyEnd) finish(stderr io.Writer) {
	if !e.pty {
		return
	}
	e.signal()
	e.leave()
	e.mu.Lock()
	quiet := e.quiet
	e.mu.Unlock()
	if !quiet && e.cfg.info {
		// ssh's quit_message ends the line with "\r\n" whatever the terminal mode.
		fmt.Fprintf(stderr, "Connection to %s closed.\r\n", e.cfg.host)
	}
}

// watchWindow forwards local window-size changes to the remote pty.
func (s *session) watchWindow(ctx context.Context, st *tunnel.Stream) {
	fd, isTerm := terminalFD(s.stdio.Stdin)
	if !isTerm {
		return // ssh -tt without a terminal: no size to follow
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-winch:
		}
		ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		if err != nil {
			continue
		}
		b, _ := json.Marshal(proto.WindowChange{Cols: int(ws.Col), Rows: int(ws.Row), Width: int(ws.Xpixel), Height: int(ws.Ypixel)})
		if st.SendRequest(proto.ReqWindowChange, b) != nil {
			return // the stream is gone
		}
	}
}
