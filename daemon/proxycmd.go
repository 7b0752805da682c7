package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mitogen-go/mitogend/internal/ratelog"
	"github.com/mitogen-go/mitogend/internal/syserr"
	"github.com/mitogen-go/mitogend/internal/vis"
	"github.com/mitogen-go/mitogend/proto"
)

// A ProxyCommand that is not ssh -W (see parseStdioProxy) runs here as ssh runs it: the
// caller's $SHELL (else /bin/sh) with -c "exec COMMAND", %-tokens already expanded, SSH spoken
// over its stdin and stdout, its stderr for the log and, while connecting, the caller. ssh sends
// it SIGHUP when it is done with it; so does the connection's Close here.

// proxyConn is a running ProxyCommand as the transport of one SSH connection.
type proxyConn struct {
	cmd        *exec.Cmd
	in, out    *os.File      // our ends: what the command reads, what it writes
	exited     chan struct{} // closed once the command has exited
	stderrDone chan struct{} // closed once its stderr has been read to the end
	closeOnce  sync.Once
}

// unknownAddr is how ssh names a transport that is not a socket in its messages:
// "Connection closed by UNKNOWN port 65535".
type unknownAddr struct{}

func (unknownAddr) Network() string { return "proxy" }
func (unknownAddr) String() string  { return "UNKNOWN:65535" }

func (p *proxyConn) Read(b []byte) (int, error) { return p.out.Read(b) }

// Write sends b to the command. A command that has gone away takes what is written as lost, so
// that the reader, which finds the end, reports it: ssh's words for a ProxyCommand that exits
// before the banner are "Connection closed by remote host", whichever way it first notices.
func (p *proxyConn) Write(b []byte) (int, error) {
	n, err := p.in.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		return len(b), nil
	}
	return n, err
}

func (p *proxyConn) Close() error {
	p.closeOnce.Do(func() {
		p.in.Close()
		p.out.Close()
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Signal(syscall.SIGHUP)
		}
	})
	return nil
}

func (p *proxyConn) LocalAddr() net.Addr  { return unknownAddr{} }
func (p *proxyConn) RemoteAddr() net.Addr { return unknownAddr{} }

func (p *proxyConn) SetDeadline(t time.Time) error {
	return errors.Join(p.in.SetWriteDeadline(t), p.out.SetReadDeadline(t))
}
func (p *proxyConn) SetReadDeadline(t time.Time) error  { return p.out.SetReadDeadline(t) }
func (p *proxyConn) SetWriteDeadline(t time.Time) error { return p.in.SetWriteDeadline(t) }

// proxyStderrLine bounds one line of a ProxyCommand's stderr in the daemon's log.
const proxyStderrLine = 4 << 10

// startProxy runs command for cd's caller. What it writes on stderr goes to the log, and to
// cd's early output while the caller is still connecting.
func (d *Daemon) startProxy(command, name string, cd *chainDial) (*proxyConn, error) {
	shell := cd.req.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	cmd := exec.Command(shell, "-c", "exec "+command)
	cmd.Env = proxyEnv(os.Environ(), cd.req)
	var files [6]*os.File // child stdin, our stdin end, our stdout end, child stdout, our stderr end, child stderr
	for i := 0; i < 6; i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(files[:i])
			return nil, fmt.Errorf("daemon: ProxyCommand: %w", err)
		}
		files[i], files[i+1] = r, w
	}
	// files: 0 child stdin (r), 1 ours (w); 2 ours (r), 3 child stdout (w); 4 ours (r), 5 child stderr (w)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = files[0], files[3], files[5]
	if err := cmd.Start(); err != nil {
		closeAll(files[:])
		// ssh's child prints perror(shell) and exits; ssh then finds the end before the banner.
		cd.early.stderr(fmt.Appendf(nil, "%s: %s\n", shell, syserr.Text(err)))
		return nil, behindFailed(nil)
	}
	closeAll([]*os.File{files[0], files[3], files[5]})
	p := &proxyConn{cmd: cmd, in: files[1], out: files[2], exited: make(chan struct{}), stderrDone: make(chan struct{})}
	d.logf("daemon: %s: ProxyCommand pid %d: %s", name, cmd.Process.Pid, vis.Safe(command))
	go d.drainProxyStderr(files[4], p, name, cd.early)
	go func() {
		err := cmd.Wait()
		close(p.exited)
		d.logf("daemon: %s: ProxyCommand pid %d ended: %v", name, cmd.Process.Pid, exitText(err))
	}()
	return p, nil
}

// drainProxyStderr reads the command's stderr to its end: raw to the caller while it connects,
// by lines (cut and escaped, at most 20 at once and then one a second) to the log.
func (d *Daemon) drainProxyStderr(f *os.File, p *proxyConn, name string, early *earlyOutput) {
	defer close(p.stderrDone)
	defer f.Close()
	limit := ratelog.New(20, time.Second)
	var line []byte
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		early.stderr(buf[:n])
		for _, c := range buf[:n] {
			if c == '\n' {
				limit.Logf(d.logf, "daemon: %s: ProxyCommand: %s", name, vis.Safe(string(line)))
				line = line[:0]
			} else if len(line) < proxyStderrLine {
				line = append(line, c)
			}
		}
		if err != nil {
			if len(line) > 0 {
				limit.Logf(d.logf, "daemon: %s: ProxyCommand: %s", name, vis.Safe(string(line)))
			}
			return
		}
	}
}

// waitStderr waits, for at most a second, until the command has exited and its stderr has been
// read: a command that failed has usually said why just before, and the caller must see it.
func (p *proxyConn) waitStderr() {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	for _, ch := range []chan struct{}{p.exited, p.stderrDone} {
		select {
		case <-ch:
		case <-t.C:
			return
		}
	}
}

// proxyEnv is the daemon's environment with the caller's HOME, SSH_AUTH_SOCK, SHELL and PATH:
// what a ProxyCommand is most likely to depend on (ssh gives it the caller's whole
// environment, which the daemon does not have).
func proxyEnv(env []string, req proto.ConnectRequest) []string {
	set := map[string]string{"HOME": req.Home, "SSH_AUTH_SOCK": req.AuthSock, "SHELL": req.Shell, "PATH": req.Path}
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if _, ours := set[k]; !ours {
			out = append(out, kv)
		}
	}
	for _, k := range []string{"HOME", "SSH_AUTH_SOCK", "SHELL", "PATH"} {
		if v := set[k]; v != "" {
			out = append(out, k+"="+v)
		} else if k == "PATH" || k == "SHELL" {
			// The caller did not say: keep the daemon's rather than run with none.
			if v, ok := os.LookupEnv(k); ok {
				out = append(out, k+"="+v)
			}
		}
	}
	return out
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// stderrError is a failed connection with what a ProxyCommand printed on stderr before it.
type stderrError struct {
	error
	stderr []byte
}

func (e *stderrError) Unwrap() error { return e.error }

func withStderr(err error, stderr []byte) error {
	if len(stderr) == 0 {
		return err
	}
	return &stderrError{error: err, stderr: stderr}
}

// proxyStderr is the ProxyCommand output carried by err, for the caller's stderr.
func proxyStderr(err error) string {
	var se *stderrError
	if errors.As(err, &se) {
		return string(se.stderr)
	}
	return ""
}
