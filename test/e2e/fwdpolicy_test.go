package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// The target sshd's forwarding and pty policy must hold for fakessh as it does for ssh: each
// test runs fakessh and OpenSSH's ssh against the same sshd_config and wants the same result.

// fwdStartProg is fwdStart for any program (fakessh, or ssh with r.srv.SSHArgs()).
func fwdStartProg(t *testing.T, r *rig, prog string, args ...string) *fwdProc {
	t.Helper()
	p := &fwdProc{cmd: exec.Command(prog, args...), exited: make(chan struct{})}
	p.cmd.Env = r.env
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("%s %v stderr:\n%s", prog, args, p.stderr.String())
		}
	})
	return p
}

// waitStderrSet waits until the process has written something to stderr.
func (p *fwdProc) waitStderrSet(t *testing.T) string {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for p.stderr.String() == "" {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("nothing on stderr")
		}
	}
	return p.stderr.String()
}

// fwdUnixEcho serves an echo on a Unix socket standing for one on the target.
func fwdUnixEcho(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fp-") // short: sun_path has 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return path
}

// fwdLocalSideBySide runs `-N -L PORT:connect` through fakessh and through ssh, makes one
// connection through each, and returns both stderrs once ssh has said something.
func fwdLocalSideBySide(t *testing.T, r *rig, connect string) (got, want string) {
	t.Helper()
	procs := map[string]*fwdProc{}
	for _, prog := range []string{"ssh", "fakessh"} {
		local := sshdtest.FreePort(t)
		args := []string{"-N", "-L", fmt.Sprintf("%d:%s", local, connect)}
		var p *fwdProc
		if prog == "ssh" {
			p = fwdStartProg(t, r, "ssh", append(args, r.srv.SSHArgs()...)...)
		} else {
			p = fwdStartProg(t, r, filepath.Join(binDir, "fakessh"), append(args, "target")...)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", local)
		fwdWaitAccept(t, addr, p.exited) // that probe is a connection too: stderr has its line
		procs[prog] = p
	}
	want = procs["ssh"].waitStderrSet(t)
	procs["fakessh"].waitStderr(t, want)
	return procs["fakessh"].stderr.String(), want
}

// TestFwdPolicyLocalRefused: sshd refuses the direct-tcpip (or direct-streamlocal) channel of a
// -L connection. ssh numbers its two listening sockets 0 and 1, so the connection is channel 2
// for both clients.
func TestFwdPolicyLocalRefused(t *testing.T) {
	httpPort := fwdHTTP(t, "body")
	other := sshdtest.FreePort(t)
	cases := []struct {
		name, config string
		connect      func(t *testing.T) string
	}{
		{"AllowTcpForwarding no", "AllowTcpForwarding no", func(*testing.T) string { return fmt.Sprintf("127.0.0.1:%d", httpPort) }},
		{"AllowTcpForwarding remote", "AllowTcpForwarding remote", func(*testing.T) string { return fmt.Sprintf("127.0.0.1:%d", httpPort) }},
		{"DisableForwarding yes", "DisableForwarding yes", func(*testing.T) string { return fmt.Sprintf("127.0.0.1:%d", httpPort) }},
		{"PermitOpen another port", fmt.Sprintf("PermitOpen 127.0.0.1:%d", other), func(*testing.T) string { return fmt.Sprintf("127.0.0.1:%d", httpPort) }},
		{"AllowStreamLocalForwarding no", "AllowStreamLocalForwarding no", fwdUnixEcho},
		{"DisableForwarding yes, Unix socket", "DisableForwarding yes", fwdUnixEcho},
		{"PermitOpen another port, Unix socket", fmt.Sprintf("PermitOpen 127.0.0.1:%d", other), fwdUnixEcho},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, sshdtest.WithExtraConfig(c.config))
			got, want := fwdLocalSideBySide(t, r, c.connect(t))
			// sshd refuses TCP as "administratively prohibited", Unix sockets as "connect
			// failed"; either way the reason ends "open failed", not a connect error.
			if !strings.HasSuffix(want, ": open failed\r\n") || got != want {
				t.Errorf("fakessh stderr %q\nssh stderr     %q", got, want)
			}
		})
	}
}

// TestFwdPolicyLocalPermitted: what the policy allows still works, through sshd's channels:
// PermitOpen's own port, and a Unix socket where nothing restricts them.
func TestFwdPolicyLocalPermitted(t *testing.T) {
	t.Run("PermitOpen", func(t *testing.T) {
		body := fwdToken(t)
		httpPort := fwdHTTP(t, body)
		r := newRig(t, sshdtest.WithExtraConfig(fmt.Sprintf("PermitOpen 127.0.0.1:%d", httpPort)))
		local := sshdtest.FreePort(t)
		p := fwdStart(t, r, "-N", "-L", fmt.Sprintf("%d:127.0.0.1:%d", local, httpPort), "target")
		addr := fmt.Sprintf("127.0.0.1:%d", local)
		fwdWaitAccept(t, addr, p.exited)
		fwdCheckHTTP(t, "http://"+addr, body)
		if s := p.stderr.String(); s != "" {
			t.Errorf("stderr %q", s)
		}
	})
	t.Run("Unix socket", func(t *testing.T) {
		r := newRig(t)
		local := sshdtest.FreePort(t)
		p := fwdStart(t, r, "-N", "-L", fmt.Sprintf("%d:%s", local, fwdUnixEcho(t)), "target")
		c := fwdDialWhenUp(t, fmt.Sprintf("127.0.0.1:%d", local), p.exited)
		defer c.Close()
		c.Write([]byte("through a Unix socket"))
		c.(*net.TCPConn).CloseWrite()
		if got, _ := io.ReadAll(c); string(got) != "through a Unix socket" {
			t.Errorf("echo %q", got)
		}
		if s := p.stderr.String(); s != "" {
			t.Errorf("stderr %q", s)
		}
	})
}

// TestFwdPolicyStdio: -W is a direct-tcpip channel; a refusal ends it as it ends ssh.
func TestFwdPolicyStdio(t *testing.T) {
	httpPort := fwdHTTP(t, "body")
	other := sshdtest.FreePort(t)
	for _, config := range []string{"AllowTcpForwarding no", "DisableForwarding yes", fmt.Sprintf("PermitOpen 127.0.0.1:%d", other)} {
		t.Run(config, func(t *testing.T) {
			r := newRig(t, sshdtest.WithExtraConfig(config))
			dst := fmt.Sprintf("127.0.0.1:%d", httpPort)
			want := r.run(nil, "ssh", append([]string{"-W", dst}, r.srv.SSHArgs()...)...)
			got := r.fakessh(nil, "-W", dst, "target")
			if got != want || got.code != 255 || !strings.Contains(got.stderr, "administratively prohibited") {
				t.Errorf("fakessh: exit %d stderr %q stdout %q\nssh:     exit %d stderr %q stdout %q",
					got.code, got.stderr, got.stdout, want.code, want.stderr, want.stdout)
			}
		})
	}
}

// TestFwdPolicyDynamicRefused: a -D connection's channel is refused. ssh grants the SOCKS
// request before it knows (fakessh answers after, with a failure), so only stderr is compared.
func TestFwdPolicyDynamicRefused(t *testing.T) {
	httpPort := fwdHTTP(t, "body")
	r := newRig(t, sshdtest.WithExtraConfig("AllowTcpForwarding no"))
	stderr := map[string]string{}
	for _, prog := range []string{"ssh", "fakessh"} {
		local := sshdtest.FreePort(t)
		args := []string{"-N", "-D", strconv.Itoa(local)}
		var p *fwdProc
		if prog == "ssh" {
			p = fwdStartProg(t, r, "ssh", append(args, r.srv.SSHArgs()...)...)
		} else {
			p = fwdStartProg(t, r, filepath.Join(binDir, "fakessh"), append(args, "target")...)
		}
		proxy := fmt.Sprintf("127.0.0.1:%d", local)
		// Not fwdWaitAccept: its probe would be a channel of its own, freed when fakessh gets
		// round to it, and the number of the connection below would depend on that.
		fwdWaitListen(t, local, p.exited)
		c, err := net.Dial("tcp", proxy)
		if err != nil {
			t.Fatal(err)
		}
		// SOCKS5, no authentication, CONNECT 127.0.0.1:httpPort; then read until the proxy closes.
		c.Write([]byte{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, byte(httpPort >> 8), byte(httpPort)})
		io.Copy(io.Discard, c)
		c.Close()
		stderr[prog] = p.waitStderrSet(t)
	}
	if !strings.Contains(stderr["ssh"], "administratively prohibited") || stderr["fakessh"] != stderr["ssh"] {
		t.Errorf("fakessh stderr %q\nssh stderr     %q", stderr["fakessh"], stderr["ssh"])
	}
}

// TestFwdPolicyRemoteRefused: sshd refuses tcpip-forward (or streamlocal-forward); ssh warns and
// runs the command, or with ExitOnForwardFailure stops with status 255.
func TestFwdPolicyRemoteRefused(t *testing.T) {
	httpPort := fwdHTTP(t, "body")
	permitted := sshdtest.FreePort(t)
	configs := []string{"AllowTcpForwarding no", "AllowTcpForwarding local", "DisableForwarding yes", fmt.Sprintf("PermitListen 127.0.0.1:%d", permitted)}
	for _, config := range configs {
		t.Run(config, func(t *testing.T) {
			r := newRig(t, sshdtest.WithExtraConfig(config))
			port := sshdtest.FreePort(t)
			specs := []string{fmt.Sprintf("%d:127.0.0.1:%d", port, httpPort), fmt.Sprintf("0:127.0.0.1:%d", httpPort)}
			for _, spec := range specs {
				for _, exitOnFailure := range []string{"no", "yes"} {
					args := []string{"-o", "ExitOnForwardFailure=" + exitOnFailure, "-R", spec}
					want := r.run(nil, "ssh", append(append(args, r.srv.SSHArgs()...), "echo", "ran")...)
					got := r.fakessh(nil, append(args, "target", "echo", "ran")...)
					if got != want || !strings.Contains(got.stderr, "remote port forwarding failed") {
						t.Errorf("-R %s ExitOnForwardFailure=%s\nfakessh: exit %d stdout %q stderr %q\nssh:     exit %d stdout %q stderr %q",
							spec, exitOnFailure, got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
					}
				}
			}
		})
	}
	t.Run("DisableForwarding yes, Unix socket", func(t *testing.T) {
		r := newRig(t, sshdtest.WithExtraConfig("DisableForwarding yes"))
		dir, err := os.MkdirTemp("", "fp-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		res := map[string]result{}
		for i, prog := range []string{"ssh", "fakessh"} {
			path := filepath.Join(dir, strconv.Itoa(i))
			args := []string{"-R", fmt.Sprintf("%s:127.0.0.1:%d", path, httpPort)}
			var got result
			if prog == "ssh" {
				got = r.run(nil, "ssh", append(append(args, r.srv.SSHArgs()...), "echo", "ran")...)
			} else {
				got = r.fakessh(nil, append(args, "target", "echo", "ran")...)
			}
			got.stderr = strings.Replace(got.stderr, path, "PATH", 1) // the one difference
			res[prog] = got
		}
		if res["fakessh"] != res["ssh"] || !strings.Contains(res["ssh"].stderr, "Warning: remote port forwarding failed for listen path PATH") {
			t.Errorf("fakessh: %+v\nssh:     %+v", res["fakessh"], res["ssh"])
		}
	})
}

// TestFwdPolicyRemotePermitted: PermitListen lets its port through (with the bind address ssh
// sends for a forward that names none, "localhost"), and PermitOpen, which is about -L, does
// not stop -R. (TestForwardRemoteAllocatedPort reads sshd's allocated port.)
func TestFwdPolicyRemotePermitted(t *testing.T) {
	body := fwdToken(t)
	httpPort := fwdHTTP(t, body)
	remote := sshdtest.FreePort(t)
	r := newRig(t, sshdtest.WithExtraConfig(fmt.Sprintf("PermitListen localhost:%d\nPermitOpen none", remote)))
	p := fwdStart(t, r, "-N", "-R", fmt.Sprintf("%d:127.0.0.1:%d", remote, httpPort), "target")
	addr := fmt.Sprintf("127.0.0.1:%d", remote)
	fwdWaitAccept(t, addr, p.exited)
	fwdCheckHTTP(t, "http://"+addr, body)
	p.stop(t)
	fwdWaitRefused(t, addr) // the listener ends with the client
	if s := p.stderr.String(); s != "" {
		t.Errorf("stderr %q", s)
	}
}

// TestFwdPolicyPermitTTY: with PermitTTY no, ssh says "PTY allocation request failed on
// channel N" and exits 255 when the pty was asked for (-t, -tt), and runs without one when it
// was only the default (no command, stdin a terminal).
func TestFwdPolicyPermitTTY(t *testing.T) {
	r := newRig(t, sshdtest.WithExtraConfig("PermitTTY no\nPrintMotd no\nPrintLastLog no"))
	fakessh := filepath.Join(binDir, "fakessh")
	t.Run("no terminal", func(t *testing.T) {
		local := sshdtest.FreePort(t)
		for _, args := range [][]string{
			{"-tt", "target", "tty"},
			{"-tt", "-q", "target", "tty"},
			{"-T", "target", "tty"},
			// The session channel comes after the two listening sockets: channel 2.
			{"-tt", "-L", fmt.Sprintf("%d:127.0.0.1:1", local), "target", "tty"},
		} {
			got := r.ttyRun(nil, fakessh, args...)
			want := r.ttyRun(nil, "ssh", append([]string{"-F", r.srv.SSHConfig}, args...)...)
			if got != want {
				t.Errorf("%q\nfakessh: exit %d stdout %q stderr %q\nssh:     exit %d stdout %q stderr %q",
					args, got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
			}
		}
	})
	t.Run("-t on a terminal", func(t *testing.T) {
		out := map[string]string{}
		for _, prog := range []string{"ssh", fakessh} {
			args := []string{"-t", "target", "tty"}
			if prog == "ssh" {
				args = append([]string{"-F", r.srv.SSHConfig}, args...)
			}
			term := r.ttyStart(t, &pty.Winsize{Rows: 24, Cols: 80}, prog, args...)
			if code := term.wait(t); code != 255 {
				t.Errorf("%s: exit %d, want 255", prog, code)
			}
			term.checkRestored(t)
			out[prog] = term.output()
		}
		if want := "PTY allocation request failed on channel 0\r\n"; out["ssh"] != want || out[fakessh] != want {
			t.Errorf("fakessh %q\nssh     %q\nwant    %q", out[fakessh], out["ssh"], want)
		}
	})
	t.Run("login shell on a terminal", func(t *testing.T) {
		out := map[string]string{}
		for _, prog := range []string{"ssh", fakessh} {
			args := []string{"target"}
			if prog == "ssh" {
				args = append([]string{"-F", r.srv.SSHConfig}, args...)
			}
			term := r.ttyStart(t, &pty.Winsize{Rows: 24, Cols: 80}, prog, args...)
			term.waitFor(t, "PTY allocation request failed on channel 0\r\n")
			term.waitCooked(t) // typed now, the line is echoed by the local terminal
			term.ptmx.WriteString("tty; exit 4\n")
			if code := term.wait(t); code != 4 {
				t.Errorf("%s: exit %d, want 4", prog, code)
			}
			term.checkRestored(t)
			out[prog] = term.output()
		}
		want := "PTY allocation request failed on channel 0\r\ntty; exit 4\r\nnot a tty\r\n" + ttyClosedOnTerminal
		if out["ssh"] != want || out[fakessh] != want {
			t.Errorf("fakessh %q\nssh     %q\nwant    %q", out[fakessh], out["ssh"], want)
		}
	})
}

// waitCooked waits until the program has put the terminal back in cooked mode.
func (tt *ttyTerm) waitCooked(t *testing.T) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(tt.tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO != 0 && tio.Lflag&unix.ICANON != 0 {
			return
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("terminal still raw; output %q", tt.output())
		}
	}
}

// TestFwdPolicyBulkLocal carries MITOGEN_FWD_BULK_MB (default 64) MiB through one -L
// connection of fakessh (fakessh -> mitogend -> sshd, no agent) and then of ssh, checks the
// bytes arrive, and logs both rates.
func TestFwdPolicyBulkLocal(t *testing.T) {
	mb := 64
	if v, err := strconv.Atoi(os.Getenv("MITOGEN_FWD_BULK_MB")); err == nil && v > 0 {
		mb = v
	}
	r := newRig(t)
	block := make([]byte, 1<<20)
	rand.Read(block)
	for _, prog := range []string{"fakessh", "ssh"} {
		sink := fwdDigestSink(t)
		local := sshdtest.FreePort(t)
		args := []string{"-N", "-L", fmt.Sprintf("%d:%s", local, sink)}
		var p *fwdProc
		if prog == "ssh" {
			p = fwdStartProg(t, r, "ssh", append(args, r.srv.SSHArgs()...)...)
		} else {
			p = fwdStartProg(t, r, filepath.Join(binDir, "fakessh"), append(args, "target")...)
		}
		c := fwdDialWhenUp(t, fmt.Sprintf("127.0.0.1:%d", local), p.exited)
		h := sha256.New()
		start := time.Now()
		for range mb {
			if _, err := c.Write(block); err != nil {
				t.Fatal(err)
			}
			h.Write(block)
		}
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		elapsed := time.Since(start)
		c.Close()
		if err != nil || string(got) != string(h.Sum(nil)) {
			t.Fatalf("%s: digest %x (%v), want %x", prog, got, err, h.Sum(nil))
		}
		t.Logf("%s: %d MiB through -L in %v: %.0f MB/s", prog, mb, elapsed.Round(time.Millisecond), float64(mb<<20)/elapsed.Seconds()/1e6)
		p.stop(t)
	}
}

// fwdDigestSink serves one connection: it reads to EOF and answers the SHA-256 of what it read.
func fwdDigestSink(t *testing.T) net.Addr {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		defer c.Close()
		h := sha256.New()
		io.Copy(h, c)
		c.Write(h.Sum(nil))
	}()
	return ln.Addr()
}

// fwdDialWhenUp connects to addr once the forward listens and returns that connection (the
// servers behind TestFwdPolicyBulkLocal's forward take only one).
func fwdDialWhenUp(t *testing.T, addr string, exited <-chan struct{}) net.Conn {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			return c
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatal(err)
		}
		select {
		case <-tick.C:
		case <-exited:
			t.Fatal("fakessh exited")
		case <-deadline:
			t.Fatalf("%s never accepted connections", addr)
		}
	}
}

// fwdWaitListen waits until a socket listens on 127.0.0.1:port, read from /proc/net/tcp
// without connecting to it.
func fwdWaitListen(t *testing.T, port int, exited <-chan struct{}) {
	t.Helper()
	want := fmt.Sprintf(" 0100007F:%04X 00000000:0000 0A ", port)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		if b, err := os.ReadFile("/proc/net/tcp"); err == nil && strings.Contains(string(b), want) {
			return
		}
		select {
		case <-tick.C:
		case <-exited:
			t.Fatal("the client exited before listening")
		case <-deadline:
			t.Fatalf("nothing listens on port %d", port)
		}
	}
}
