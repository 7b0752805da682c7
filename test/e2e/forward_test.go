package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// fwdHTTP starts an HTTP server on 127.0.0.1 standing for a service on the target's loopback
// (the target is this machine). GET / answers body; POST / answers the SHA-256 of the request.
func fwdHTTP(t *testing.T, body string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost {
			h := sha256.New()
			io.Copy(h, req.Body)
			fmt.Fprintf(w, "%x", h.Sum(nil))
			return
		}
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// fwdProc is a fakessh left running (-N) while the test uses its forwards.
type fwdProc struct {
	cmd    *exec.Cmd
	stderr fwdBuffer
	exited chan struct{}
}

// fwdBuffer is a bytes.Buffer that the test may read while the process writes it.
type fwdBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *fwdBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *fwdBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func fwdStart(t *testing.T, r *rig, args ...string) *fwdProc {
	t.Helper()
	return fwdStartProg(t, r, filepath.Join(binDir, "fakessh"), args...)
}

// stop ends the process as an interrupt would and waits for it.
func (p *fwdProc) stop(t *testing.T) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("fakessh did not exit on SIGTERM")
	}
}

// fwdWaitAccept waits until addr accepts a TCP connection, failing if the process exits or the
// deadline passes first.
func fwdWaitAccept(t *testing.T, addr string, exited <-chan struct{}) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		select {
		case <-tick.C:
		case <-exited:
			t.Fatalf("fakessh exited before %s accepted connections", addr)
		case <-deadline:
			t.Fatalf("%s never accepted connections", addr)
		}
	}
}

// fwdWaitRefused waits until addr stops accepting connections.
func fwdWaitRefused(t *testing.T, addr string) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s still accepts connections", addr)
		}
	}
}

// fwdCheckHTTP GETs and POSTs through base (http://host:port) and checks both answers.
func fwdCheckHTTP(t *testing.T, base, body string) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatalf("GET through the forward: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != body {
		t.Errorf("GET body %q, want %q", got, body)
	}
	payload := make([]byte, 3<<20) // more than a stream window, to exercise flow control
	rand.Read(payload)
	resp, err = client.Post(base+"/", "application/octet-stream", bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("POST through the forward: %v", err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("%x", sha256.Sum256(payload)); string(got) != want {
		t.Errorf("POST digest %s, want %s", got, want)
	}
}

func fwdToken(t *testing.T) string {
	b := make([]byte, 8)
	rand.Read(b)
	return fmt.Sprintf("%s-%x", t.Name(), b)
}

func TestForwardStdioAsProxyCommand(t *testing.T) {
	r := newRig(t)
	proxy := filepath.Join(binDir, "fakessh") + " -W %h:%p target"
	args := append([]string{"-o", "ProxyCommand=" + proxy}, r.srv.SSHArgs()...)
	res := r.must(r.run(nil, "ssh", append(args, "echo", "hi")...))
	if trim(res.stdout) != "hi" {
		t.Errorf("stdout %q, want hi", res.stdout)
	}
	// One login for the tunnel, one for the ssh that rode it.
	if err := r.srv.WaitLogins(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	if n := r.srv.Logins(); n != 2 {
		t.Errorf("sshd saw %d logins, want 2", n)
	}
}

// TestForwardStdioFailureAsOpenSSH compares fakessh -W with OpenSSH's through the same sshd.
func TestForwardStdioFailureAsOpenSSH(t *testing.T) {
	r := newRig(t)
	closed := sshdtest.FreePort(t)
	cases := []struct{ name, target string }{
		{"refused", fmt.Sprintf("127.0.0.1:%d", closed)},
		{"unknown host", "no-such-host.invalid:80"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := r.run(nil, "ssh", append([]string{"-W", c.target}, r.srv.SSHArgs()...)...)
			got := r.fakessh(nil, "-W", c.target, "target")
			if got.code != want.code || got.stderr != want.stderr || got.stdout != "" {
				t.Errorf("fakessh: exit %d stderr %q stdout %q\nssh:     exit %d stderr %q", got.code, got.stderr, got.stdout, want.code, want.stderr)
			}
			if got.code != 255 {
				t.Errorf("exit %d, want 255", got.code)
			}
		})
	}
}

func TestForwardStdioRelaysBothWays(t *testing.T) {
	r := newRig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // an upper-casing echo server that answers once its input ends
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		c.Write(bytes.ToUpper(b))
	}()
	res := r.must(r.fakessh(strings.NewReader("half-close works\n"), "-W", ln.Addr().String(), "target"))
	if res.stdout != "HALF-CLOSE WORKS\n" || res.stderr != "" {
		t.Errorf("stdout %q stderr %q", res.stdout, res.stderr)
	}
}

func TestForwardLocal(t *testing.T) {
	r := newRig(t)
	body := fwdToken(t)
	httpPort := fwdHTTP(t, body)
	local := sshdtest.FreePort(t)
	p := fwdStart(t, r, "-N", "-L", fmt.Sprintf("%d:127.0.0.1:%d", local, httpPort), "target")
	addr := fmt.Sprintf("127.0.0.1:%d", local)
	fwdWaitAccept(t, addr, p.exited)
	fwdCheckHTTP(t, "http://"+addr, body)
	p.stop(t)
	fwdWaitRefused(t, addr)
}

func TestForwardLocalRefusedAsOpenSSH(t *testing.T) {
	r := newRig(t)
	closed := sshdtest.FreePort(t)
	local := sshdtest.FreePort(t)
	p := fwdStart(t, r, "-N", "-L", fmt.Sprintf("%d:127.0.0.1:%d", local, closed), "target")
	addr := fmt.Sprintf("127.0.0.1:%d", local)
	fwdWaitAccept(t, addr, p.exited)
	// ssh numbers the two listening sockets (::1, 127.0.0.1) 0 and 1, so a lone connection is
	// channel 2, and the number is free again once the connection has failed. A mismatch
	// shows as a timeout.
	line := "channel 2: open failed: connect failed: Connection refused\r\n"
	p.waitStderr(t, line)
	for i := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("read from a refused forward: %d bytes, %v; want EOF", n, err)
		}
		c.Close()
		p.waitStderr(t, strings.Repeat(line, i+2))
	}
}

// waitStderr waits until the process's stderr is want.
func (p *fwdProc) waitStderr(t *testing.T, want string) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for p.stderr.String() != want {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("stderr %q, want %q", p.stderr.String(), want)
		}
	}
}

func TestForwardLocalBindFailureAsOpenSSH(t *testing.T) {
	r := newRig(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	spec := fmt.Sprintf("127.0.0.1:%d:127.0.0.1:1", port)
	for _, exitOnFailure := range []string{"no", "yes"} {
		t.Run("ExitOnForwardFailure="+exitOnFailure, func(t *testing.T) {
			// With a command, ssh goes on to run it unless ExitOnForwardFailure says otherwise.
			args := []string{"-o", "ExitOnForwardFailure=" + exitOnFailure, "-L", spec}
			want := r.run(nil, "ssh", append(append(args, r.srv.SSHArgs()...), "echo", "ran")...)
			got := r.fakessh(nil, append(args, "target", "echo", "ran")...)
			if got != want {
				t.Errorf("fakessh: exit %d stdout %q stderr %q\nssh:     exit %d stdout %q stderr %q",
					got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
			}
		})
	}
}

// fwdSOCKS connects to the SOCKS server at proxy and asks for dst in the given dialect.
// It returns the connection after a granted request, or the reply code.
func fwdSOCKS(t *testing.T, proxy, dialect, host string, port int) (net.Conn, byte) {
	t.Helper()
	c, err := net.Dial("tcp", proxy)
	if err != nil {
		t.Fatal(err)
	}
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], uint16(port))
	ip := net.ParseIP(host).To4()
	var req []byte
	switch dialect {
	case "socks5", "socks5-domain":
		c.Write([]byte{5, 1, 0})
		if _, err := io.ReadFull(c, make([]byte, 2)); err != nil {
			t.Fatalf("SOCKS5 method reply: %v", err)
		}
		req = append([]byte{5, 1, 0, 1}, ip...)
		if dialect == "socks5-domain" {
			req = append([]byte{5, 1, 0, 3, byte(len(host))}, host...)
		}
		req = append(req, p[:]...)
	case "socks4":
		req = append(append([]byte{4, 1}, p[:]...), ip...)
		req = append(req, "user\x00"...)
	case "socks4a":
		req = append(append([]byte{4, 1}, p[:]...), 0, 0, 0, 1)
		req = append(append(req, "user\x00"...), host+"\x00"...)
	}
	c.Write(req)
	reply := make([]byte, 10)
	if dialect == "socks4" || dialect == "socks4a" {
		reply = reply[:8]
	}
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatalf("%s reply: %v", dialect, err)
	}
	if code := reply[1]; code != 0 && code != 90 {
		c.Close()
		return nil, code
	}
	return c, reply[1]
}

func TestForwardDynamicSOCKS(t *testing.T) {
	r := newRig(t)
	body := fwdToken(t)
	httpPort := fwdHTTP(t, body)
	local := sshdtest.FreePort(t)
	p := fwdStart(t, r, "-N", "-D", strconv.Itoa(local), "target")
	proxy := fmt.Sprintf("127.0.0.1:%d", local)
	fwdWaitAccept(t, proxy, p.exited)
	cases := []struct{ dialect, host string }{
		{"socks5", "127.0.0.1"},
		{"socks5-domain", "localhost"},
		{"socks4", "127.0.0.1"},
		{"socks4a", "localhost"},
	}
	for _, c := range cases {
		t.Run(c.dialect, func(t *testing.T) {
			conn, code := fwdSOCKS(t, proxy, c.dialect, c.host, httpPort)
			if conn == nil {
				t.Fatalf("request refused with code %d", code)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			if string(got) != body {
				t.Errorf("body %q, want %q", got, body)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		conn, code := fwdSOCKS(t, proxy, "socks5", "127.0.0.1", sshdtest.FreePort(t))
		if conn != nil {
			conn.Close()
			t.Fatal("CONNECT to a closed port was granted")
		}
		if code != 5 {
			t.Errorf("reply code %d, want 5 (connection refused)", code)
		}
	})
}

func TestForwardRemote(t *testing.T) {
	r := newRig(t)
	body := fwdToken(t)
	httpPort := fwdHTTP(t, body)
	remote := sshdtest.FreePort(t)
	p := fwdStart(t, r, "-N", "-R", fmt.Sprintf("%d:127.0.0.1:%d", remote, httpPort), "target")
	addr := fmt.Sprintf("127.0.0.1:%d", remote) // the target's listener: the target is this machine
	fwdWaitAccept(t, addr, p.exited)
	fwdCheckHTTP(t, "http://"+addr, body)
	// The agent outlives this fakessh; its listener must not.
	p.stop(t)
	fwdWaitRefused(t, addr)
	r.must(r.fakessh(nil, "target", "true")) // and the tunnel is still fine
}

// TestForwardRemoteDynamic is -R with no destination: a SOCKS server on the target's port,
// connecting from this end.
func TestForwardRemoteDynamic(t *testing.T) {
	r := newRig(t)
	body := fwdToken(t)
	httpPort := fwdHTTP(t, body)
	remote := sshdtest.FreePort(t)
	p := fwdStart(t, r, "-N", "-R", strconv.Itoa(remote), "target")
	proxy := fmt.Sprintf("127.0.0.1:%d", remote)
	fwdWaitAccept(t, proxy, p.exited)
	conn, code := fwdSOCKS(t, proxy, "socks5", "127.0.0.1", httpPort)
	if conn == nil {
		t.Fatalf("request refused with code %d", code)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.0\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	if string(got) != body {
		t.Errorf("body %q, want %q", got, body)
	}
}

func TestForwardRemoteAllocatedPort(t *testing.T) {
	r := newRig(t)
	body := fwdToken(t)
	httpPort := fwdHTTP(t, body)
	p := fwdStart(t, r, "-N", "-R", fmt.Sprintf("0:127.0.0.1:%d", httpPort), "target")
	line := regexp.MustCompile(fmt.Sprintf(`(?m)^Allocated port (\d+) for remote forward to 127\.0\.0\.1:%d\r$`, httpPort))
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for !line.MatchString(p.stderr.String()) {
		select {
		case <-tick.C:
		case <-p.exited:
			t.Fatalf("fakessh exited: %s", p.stderr.String())
		case <-deadline:
			t.Fatalf("no allocated port reported: %q", p.stderr.String())
		}
	}
	port := line.FindStringSubmatch(p.stderr.String())[1]
	fwdCheckHTTP(t, "http://127.0.0.1:"+port, body)
}

// fwdPIDsWithEnv lists the fakessh processes whose environment holds kv.
func fwdPIDsWithEnv(kv string) []int {
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if exe, _ := os.Readlink(filepath.Join("/proc", d.Name(), "exe")); filepath.Base(exe) != "fakessh" {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err == nil && bytes.Contains(append([]byte{0}, env...), []byte("\x00"+kv+"\x00")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestForwardBackground(t *testing.T) {
	r := newRig(t)
	tag := "FWDTEST_TAG=" + fwdToken(t)
	r.env = append(r.env, tag)
	body := fwdToken(t)
	httpPort := fwdHTTP(t, body)
	local := sshdtest.FreePort(t)
	// r.run returns only when stdout and stderr are closed: the background child must let go
	// of them, as ssh -f does.
	res := r.must(r.fakessh(nil, "-f", "-N", "-L", fmt.Sprintf("%d:127.0.0.1:%d", local, httpPort), "target"))
	if res.stdout != "" || res.stderr != "" {
		t.Errorf("stdout %q stderr %q", res.stdout, res.stderr)
	}
	pids := fwdPIDsWithEnv(tag)
	t.Cleanup(func() {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	})
	if len(pids) != 1 {
		t.Fatalf("%d background processes, want 1", len(pids))
	}
	// Ready means listening: no waiting needed.
	fwdCheckHTTP(t, fmt.Sprintf("http://127.0.0.1:%d", local), body)

	t.Run("without a command", func(t *testing.T) {
		want := r.run(nil, "ssh", append([]string{"-f"}, r.srv.SSHArgs()...)...)
		got := r.fakessh(nil, "-f", "target")
		if got != want || got.code != 255 {
			t.Errorf("fakessh: exit %d stderr %q\nssh:     exit %d stderr %q", got.code, got.stderr, want.code, want.stderr)
		}
	})
	t.Run("with a command", func(t *testing.T) {
		res := r.must(r.fakessh(nil, "-f", "target", "echo", "from-background"))
		if res.stdout != "from-background\n" {
			t.Errorf("stdout %q", res.stdout)
		}
	})
}

// LocalForward in ssh_config counts as -L does, as it does for ssh.
func TestForwardFromConfigFile(t *testing.T) {
	r := newRig(t)
	body := fwdToken(t)
	httpPort := fwdHTTP(t, body)
	local := sshdtest.FreePort(t)
	base, err := os.ReadFile(r.srv.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "config")
	extra := fmt.Sprintf("\nHost target\n  LocalForward %d 127.0.0.1:%d\n", local, httpPort)
	if err := os.WriteFile(cfg, append(base, extra...), 0o600); err != nil {
		t.Fatal(err)
	}
	p := fwdStart(t, r, "-F", cfg, "-N", "target")
	addr := fmt.Sprintf("127.0.0.1:%d", local)
	fwdWaitAccept(t, addr, p.exited)
	fwdCheckHTTP(t, "http://"+addr, body)
	p.stop(t)
}
