package sshdtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// client runs a real OpenSSH client program against s.
func client(t *testing.T, s *Server, stdin string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	path := testenv.NeedTool(t, name)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = s.Env()
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func ssh(t *testing.T, s *Server, command string) (string, string, error) {
	t.Helper()
	return client(t, s, "", "ssh", append(s.SSHArgs(), command)...)
}

func TestEchoCountsOneLogin(t *testing.T) {
	s := Start(t)
	if n := s.Logins(); n != 0 {
		t.Fatalf("Logins() before any connection = %d, want 0", n)
	}
	out, errOut, err := ssh(t, s, "echo hi")
	if err != nil {
		t.Fatalf("ssh: %v\nstderr: %s\nsshd log:\n%s", err, errOut, s.Log())
	}
	if out != "hi\n" {
		t.Errorf("ssh echo hi: stdout %q, want %q", out, "hi\n")
	}
	if n := s.Logins(); n != 1 {
		t.Errorf("Logins() after one ssh = %d, want 1", n)
	}
}

func TestSessionEnvironment(t *testing.T) {
	s := Start(t)
	out, errOut, err := ssh(t, s, `printf '%s\n' "$HOME" "$USER" "$SSH_CONNECTION"`)
	if err != nil {
		t.Fatalf("ssh: %v\nstderr: %s", err, errOut)
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(got) != 3 {
		t.Fatalf("got %q, want 3 lines", out)
	}
	if got[0] != s.Home {
		t.Errorf("session HOME = %q, want %q", got[0], s.Home)
	}
	if got[1] != s.User {
		t.Errorf("session USER = %q, want %q", got[1], s.User)
	}
	if f := strings.Fields(got[2]); len(f) != 4 || f[2] != s.Host || f[3] != strconv.Itoa(s.Port) {
		t.Errorf("SSH_CONNECTION = %q, want server side %s %d", got[2], s.Host, s.Port)
	}
}

func TestSFTPSubsystem(t *testing.T) {
	tests := []struct {
		name   string
		opts   []Option
		wantOK bool
	}{
		{"default has sftp", nil, true},
		{"WithSFTP(false)", []Option{WithSFTP(false)}, false},
		{"WithSFTP(true)", []Option{WithSFTP(true)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, tt.opts...)
			out, errOut, err := client(t, s, "pwd\n", "sftp", "-b", "-", "-F", s.SSHConfig, HostAlias)
			if ok := err == nil; ok != tt.wantOK {
				t.Fatalf("sftp succeeded = %v, want %v\nstdout: %s\nstderr: %s", ok, tt.wantOK, out, errOut)
			}
			if tt.wantOK && !strings.Contains(out, "Remote working directory") {
				t.Errorf("sftp pwd output %q lacks the working directory", out)
			}
			if !tt.wantOK && !strings.Contains(s.Log(), "subsystem request for sftp by user") {
				t.Errorf("sshd log does not show the refused sftp request:\n%s", s.Log())
			}
		})
	}
}

func TestExtraConfig(t *testing.T) {
	tests := []struct {
		name    string
		extra   string
		command string
		wantOut string
		wantOK  bool
	}{
		// Placed before the defaults, so it overrides "PubkeyAuthentication yes".
		{"overrides a default", "PubkeyAuthentication no", "true", "", false},
		// A Match block goes after the defaults.
		{"match block", "Match User " + currentUser(t) + "\n  ForceCommand echo forced", "echo hi", "forced\n", true},
		{"match for someone else", "Match User nosuchuser\n  ForceCommand echo forced", "echo hi", "hi\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Start(t, WithExtraConfig(tt.extra))
			out, errOut, err := ssh(t, s, tt.command)
			if ok := err == nil; ok != tt.wantOK {
				t.Fatalf("ssh succeeded = %v, want %v; stderr: %s", ok, tt.wantOK, errOut)
			}
			if out != tt.wantOut {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
		})
	}
}

func currentUser(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func TestStopDropsConnections(t *testing.T) {
	s := Start(t)
	path := testenv.NeedTool(t, "ssh")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	// cat keeps the session open until its stdin (the connection) goes.
	cmd := exec.CommandContext(ctx, path, append(s.SSHArgs(), "echo ready; cat")...)
	cmd.Env = s.Env()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("ready\n"))
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("read %q, %v; want ready", buf, err)
	}
	s.Stop()
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatal("ssh still connected 20 s after Stop")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 255 {
		t.Errorf("ssh after Stop: %v, want exit status 255 (connection lost)", err)
	}
	if _, _, err := ssh(t, s, "true"); err == nil {
		t.Error("a new ssh connection succeeded after Stop")
	}
}

func TestWaitLog(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.WaitLog(ctx, "Server listening on 127.0.0.1"); err != nil {
		t.Errorf("WaitLog for the listening line: %v", err)
	}
	short, cancelShort := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancelShort()
	if err := s.WaitLog(short, "no such line"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitLog for a missing line = %v, want DeadlineExceeded", err)
	}
	if _, errOut, err := ssh(t, s, "true"); err != nil {
		t.Fatalf("ssh: %v: %s", err, errOut)
	}
	if err := s.WaitLogins(ctx, 1); err != nil {
		t.Errorf("WaitLogins(1): %v", err)
	}
	s.Stop()
	if err := s.WaitLog(ctx, "no such line"); !errors.Is(err, ErrExited) {
		t.Errorf("WaitLog after Stop = %v, want ErrExited", err)
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "/nonexistent/agent.sock")
	s := Start(t)
	env := s.Env()
	if !slices.Contains(env, "HOME="+s.ClientHome) {
		t.Errorf("Env() lacks HOME=%s", s.ClientHome)
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "SSH_AUTH_SOCK=") || (strings.HasPrefix(kv, "HOME=") && kv != "HOME="+s.ClientHome) {
			t.Errorf("Env() contains %q", kv)
		}
	}
	for _, f := range []string{"config", "known_hosts", "id_ed25519"} {
		p := filepath.Join(s.ClientHome, ".ssh", f)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("client home: %v", err)
		}
	}
	fi, err := os.Stat(s.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("ClientKey mode %o, want 600", m)
	}
}

func TestRsyncWithSSHCommand(t *testing.T) {
	s := Start(t)
	src := filepath.Join(t.TempDir(), "src.bin")
	want := RandomFile(t, src, 1<<20)
	dst := filepath.Join(t.TempDir(), "dst.bin")
	_, errOut, err := client(t, s, "", "rsync", "-e", s.SSHCommand(), src, HostAlias+":"+dst)
	if err != nil {
		t.Fatalf("rsync: %v: %s", err, errOut)
	}
	if got := SHA256File(t, dst); got != want {
		t.Errorf("copied file sha256 %s, want %s", got, want)
	}
}

func TestRandomFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int64{0, 1, 4095, 1 << 20} {
		a := filepath.Join(dir, "sub", "a")
		b := filepath.Join(dir, "sub", "b")
		ha, hb := RandomFile(t, a, size), RandomFile(t, b, size)
		if fi, err := os.Stat(a); err != nil || fi.Size() != size {
			t.Errorf("size %d: stat: %v, %v", size, fi, err)
		}
		if got := SHA256File(t, a); got != ha {
			t.Errorf("size %d: SHA256File %s, RandomFile returned %s", size, got, ha)
		}
		if size > 0 && ha == hb {
			t.Errorf("size %d: two random files are identical", size)
		}
	}
}

func TestLaunchReportsPortInUse(t *testing.T) {
	keygen := requireTools(t, DefaultSSHD)
	if os.Geteuid() == 0 {
		ensurePrivsepDir(t)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s := layout(t, keygen)
	t.Cleanup(s.Stop)
	err = s.launch(defaultConfig(), busy.Addr().(*net.TCPAddr).Port)
	if !errors.Is(err, errAddrInUse) {
		t.Fatalf("launch on a busy port: %v, want errAddrInUse", err)
	}
	// The retry Start would make succeeds on another port.
	if err := s.launch(defaultConfig(), FreePort(t)); err != nil {
		t.Fatalf("launch on a free port: %v", err)
	}
	if _, errOut, err := ssh(t, s, "true"); err != nil {
		t.Errorf("ssh after retry: %v: %s", err, errOut)
	}
}

func TestSSHDConfig(t *testing.T) {
	base := sshdParams{listen: "127.0.0.1", port: 2222, hostKey: "/k", pidFile: "/p", authorizedKeys: "/a", home: "/h", sftpServer: DefaultSFTPServer}
	tests := []struct {
		name       string
		sftp       string
		extra      string
		wantBefore string // must appear before "ListenAddress"
		wantAfter  string // must appear after "MaxStartups"
		absent     string
	}{
		{name: "defaults", sftp: DefaultSFTPServer, wantAfter: "", absent: "PerSourcePenalties"},
		{name: "no sftp", absent: "Subsystem"},
		{name: "extra first", sftp: DefaultSFTPServer, extra: "X11Forwarding yes", wantBefore: "X11Forwarding yes"},
		{name: "match last", sftp: DefaultSFTPServer, extra: "AllowTcpForwarding no\nmatch User bob\n  ForceCommand true",
			wantBefore: "AllowTcpForwarding no", wantAfter: "match User bob\n  ForceCommand true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			p.sftpServer, p.extra = tt.sftp, tt.extra
			got := sshdConfig(p)
			before, after, ok := strings.Cut(got, "ListenAddress 127.0.0.1\n")
			if !ok {
				t.Fatalf("no ListenAddress in\n%s", got)
			}
			if !strings.Contains(before, tt.wantBefore) {
				t.Errorf("%q not before the defaults in\n%s", tt.wantBefore, got)
			}
			_, tail, _ := strings.Cut(after, "MaxStartups 100:30:200\n")
			if !strings.Contains(tail, tt.wantAfter) {
				t.Errorf("%q not after the defaults in\n%s", tt.wantAfter, got)
			}
			if tt.absent != "" && strings.Contains(got, tt.absent) {
				t.Errorf("%q present in\n%s", tt.absent, got)
			}
			if tt.sftp != "" && !strings.Contains(got, "Subsystem sftp "+tt.sftp+"\n") {
				t.Errorf("no sftp Subsystem in\n%s", got)
			}
		})
	}
}

// skipRecorder records Skipf and Fatalf instead of skipping or failing the real test.
type skipRecorder struct {
	testing.TB
	skipped, failed string
}

func (r *skipRecorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *skipRecorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestStartSkipsWithoutSSHD(t *testing.T) {
	r := &skipRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(r, WithSSHD("/nonexistent/sbin/sshd"))
		t.Error("Start returned without skipping")
	}()
	<-done
	got, want := r.skipped, "OpenSSH server not installed"
	if testing.Short() {
		want = "skipped under -short" // before looking for sshd
	} else if on, _ := testenv.Required(); on {
		got = r.failed
	}
	if !strings.Contains(got, want) {
		t.Errorf("skipped %q, failed %q: no %q", r.skipped, r.failed, want)
	}
}
