package emulation

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// bootstrap is what the agent's start environment looks like: sshd's
// variables plus what the bootstrap shell added.
func bootstrap(t *testing.T, shell string) []string {
	t.Helper()
	return []string{
		"HOME=" + t.TempDir(), // never a real ~/.bashrc
		"USER=tester", "LOGNAME=tester", "SHELL=" + shell,
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"SSH_CLIENT=192.0.2.1 5555 22",
		"SSH_CONNECTION=192.0.2.1 5555 192.0.2.2 22",
		"SHLVL=7", "_=/bootstrap/underscore", "PWD=/bootstrap/pwd",
		"OLDPWD=/bootstrap/oldpwd", "TERM=bootstrap-term",
	}
}

type outcome struct {
	stdout, stderr string
	res            Result
}

func run(t *testing.T, base []string, req Request, acct *account, stdin io.Reader) outcome {
	t.Helper()
	var out, errb bytes.Buffer
	a := lookupAccount()
	if acct != nil {
		a = *acct
	}
	p, err := start(base, req, a, stdin, &out, &errb)
	if err != nil {
		t.Fatalf("start %+v: %v", req, err)
	}
	res := p.Wait()
	if res.Err != nil {
		t.Fatalf("wait %+v: %v", req, res.Err)
	}
	return outcome{out.String(), errb.String(), res}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		shell, cmd     string
		stdout, stderr string
		status         int
		signal         string
	}{
		{"/bin/sh", "exit 0", "", "", 0, ""},
		{"/bin/sh", "exit 1", "", "", 1, ""},
		{"/bin/bash", "exit 42", "", "", 42, ""},
		{"/bin/sh", "echo out; echo err >&2", "out\n", "err\n", 0, ""},
		{"/bin/sh", "kill -9 $$", "", "", -1, "KILL"},
		{"/bin/bash", "kill -USR1 $$", "", "", -1, "USR1"},
		{"/bin/sh", "kill -VTALRM $$", "", "", -1, "SIG@openssh.com"},
		{"/bin/sh", `echo "$0"`, "sh\n", "", 0, ""},
		{"/bin/bash", `echo "$0"`, "bash\n", "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.shell+" "+tt.cmd, func(t *testing.T) {
			got := run(t, BaseEnv(bootstrap(t, tt.shell)), Request{Command: tt.cmd}, nil, nil)
			if got.stdout != tt.stdout || got.stderr != tt.stderr {
				t.Errorf("stdout %q stderr %q, want %q %q", got.stdout, got.stderr, tt.stdout, tt.stderr)
			}
			if got.res.Status != tt.status || got.res.Signal != tt.signal {
				t.Errorf("result %+v, want status %d signal %q", got.res, tt.status, tt.signal)
			}
		})
	}
}

func TestStdin(t *testing.T) {
	big := make([]byte, 4<<20)
	rand.Read(big)
	tests := []struct {
		name string
		in   []byte
	}{
		{"short text", []byte("hello\n")},
		{"4 MiB binary", big},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := sha256.New()
			p, err := Start(BaseEnv(bootstrap(t, "/bin/sh")), Request{Command: "cat"}, bytes.NewReader(tt.in), h, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res := p.Wait(); res.Status != 0 || res.Err != nil {
				t.Fatalf("result %+v", res)
			}
			if got, want := h.Sum(nil), sha256.Sum256(tt.in); !bytes.Equal(got, want[:]) {
				t.Errorf("cat output differs from its %d input bytes", len(tt.in))
			}
		})
	}
}

func TestStdinNeverEnds(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close() // frees the stdin copier
	got := run(t, BaseEnv(bootstrap(t, "/bin/sh")), Request{Command: "true"}, nil, pr)
	if got.res.Status != 0 {
		t.Errorf("result %+v", got.res)
	}
}

// environ reads the environment the shell was executed with, unaltered by
// the shell.
func environ(t *testing.T, base []string, req Request) map[string]string {
	t.Helper()
	req.Command = `tr '\0' '\n' < /proc/$$/environ`
	got := run(t, base, req, nil, nil)
	env := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n") {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := env[k]; dup {
			t.Errorf("%s is set twice", k)
		}
		env[k] = v
	}
	return env
}

func TestEnv(t *testing.T) {
	raw := bootstrap(t, "/bin/sh")
	from := func(k string) string { return getenv(raw, k) }
	const absent = "\x00absent"
	tests := []struct {
		name string
		req  Request
		want map[string]string
	}{
		{"sshd's", Request{}, map[string]string{
			"HOME": from("HOME"), "USER": "tester", "LOGNAME": "tester",
			"SSH_CONNECTION": from("SSH_CONNECTION"), "SSH_CLIENT": from("SSH_CLIENT"),
			"PATH": from("PATH"), "SHELL": "/bin/sh",
		}},
		{"bootstrap's dropped", Request{}, map[string]string{
			"SHLVL": absent, "_": absent, "PWD": absent, "OLDPWD": absent, "TERM": absent,
		}},
		{"client's added", Request{Env: map[string]string{"LC_FOO": "bar baz", "LANG": "C"}},
			map[string]string{"LC_FOO": "bar baz", "LANG": "C"}},
		{"client's never override sshd's", Request{Env: map[string]string{"HOME": "/evil", "SSH_CONNECTION": "x"}},
			map[string]string{"HOME": from("HOME"), "SSH_CONNECTION": from("SSH_CONNECTION")}},
		{"term", Request{Term: "xterm-256color", Env: map[string]string{"TERM": "dumb"}},
			map[string]string{"TERM": "xterm-256color"}},
		{"client term without pty", Request{Env: map[string]string{"TERM": "dumb"}},
			map[string]string{"TERM": "dumb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environ(t, BaseEnv(raw), tt.req)
			for k, want := range tt.want {
				got, ok := env[k]
				if want == absent && ok {
					t.Errorf("%s=%q is set", k, got)
				}
				if want != absent && got != want {
					t.Errorf("%s=%q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestBaseEnv(t *testing.T) {
	defPath := userPath
	if os.Getuid() == 0 {
		defPath = rootPath
	}
	tests := []struct {
		in, want []string
	}{
		{[]string{"A=1", "SHLVL=2", "_=/x", "PWD=/", "OLDPWD=/", "PATH=/p"}, []string{"A=1", "PATH=/p"}},
		{[]string{"A=1", "A=2", "junk", "=x", "PATH=/p"}, []string{"A=1", "PATH=/p"}},
		{[]string{"SSH_TTY=/dev/pts/0", "TERM=xterm", "SSH_ORIGINAL_COMMAND=boot"}, []string{"PATH=" + defPath}},
	}
	for _, tt := range tests {
		got := BaseEnv(tt.in)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("BaseEnv(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWorkingDir(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "gone")
	tests := []struct {
		name           string
		acct           *account
		stdout, stderr string
	}{
		{"passwd home", nil, u.HomeDir + "\n", ""},
		{"missing home", &account{name: "tester", dir: missing, shell: "/bin/sh"}, "/\n",
			"Could not chdir to home directory " + missing + ": No such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(t, BaseEnv(bootstrap(t, "/bin/sh")), Request{Command: "pwd -P"}, tt.acct, nil)
			want, _ := filepath.EvalSymlinks(strings.TrimSuffix(tt.stdout, "\n"))
			if got.stdout != want+"\n" || got.stderr != tt.stderr {
				t.Errorf("stdout %q stderr %q, want %q %q", got.stdout, got.stderr, want+"\n", tt.stderr)
			}
		})
	}
}

func TestLoginShell(t *testing.T) {
	got := run(t, BaseEnv(bootstrap(t, "/bin/sh")), Request{}, nil, strings.NewReader("echo \"$0\"\nexit 3\n"))
	lines := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
	if lines[len(lines)-1] != "-sh" || got.res.Status != 3 {
		t.Errorf("stdout %q status %d, want last line -sh and status 3", got.stdout, got.res.Status)
	}
}

func TestRC(t *testing.T) {
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	rc := "echo rc in $PWD; echo rc err >&2\n"
	if err := os.WriteFile(filepath.Join(home, ".ssh", "rc"), []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	acct := &account{name: "tester", dir: home, shell: "/bin/sh"}
	got := run(t, BaseEnv(bootstrap(t, "/bin/sh")), Request{Command: "echo main"}, acct, nil)
	want := outcome{"rc in " + home + "\nmain\n", "rc err\n", Result{}}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestShellMissing(t *testing.T) {
	shell := filepath.Join(t.TempDir(), "nosh")
	got := run(t, BaseEnv(bootstrap(t, shell)), Request{Command: "true"}, nil, nil)
	want := outcome{"", shell + ": No such file or directory\n", Result{Status: 1}}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestSignal(t *testing.T) {
	pr, pw := io.Pipe()
	p, err := Start(BaseEnv(bootstrap(t, "/bin/sh")), Request{Command: "echo ready; sleep 100; echo late"}, nil, pw, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(pr)
	if line, err := out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	if err := p.Signal("BOGUS"); !errors.Is(err, ErrSignal) {
		t.Errorf("Signal(BOGUS) = %v, want ErrSignal", err)
	}
	if err := p.Signal("TERM"); err != nil {
		t.Fatal(err)
	}
	rest := make(chan string)
	go func() { b, _ := io.ReadAll(out); rest <- string(b) }()
	// sleep holds stdout too: Wait returns only because the whole
	// process group got the signal.
	res := p.Wait()
	pw.Close()
	if res.Signal != "TERM" || res.Status != -1 {
		t.Errorf("result %+v, want TERM", res)
	}
	if s := <-rest; s != "" {
		t.Errorf("output after signal: %q", s)
	}
	if err := p.Signal("KILL"); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal after exit = %v, want ErrProcessDone", err)
	}
}

func TestBackgroundHoldsOutput(t *testing.T) {
	p, err := Start(BaseEnv(bootstrap(t, "/bin/sh")), Request{Command: "sleep 100 & exit 5"}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-p.proc.Pid, syscall.SIGKILL) // the background sleep
	<-p.Exited()
	if res := p.ExitResult(); res.Status != 5 {
		t.Errorf("exit result %+v, want 5", res)
	}
	select {
	case <-p.doneC:
		t.Fatal("Wait would return while sleep still holds stdout")
	default:
	}
	p.Close()
	if res := p.Wait(); res.Status != 5 || res.Err != nil {
		t.Errorf("Wait after Close = %+v", res)
	}
}

func TestSubsystem(t *testing.T) {
	base := BaseEnv(bootstrap(t, "/bin/sh"))
	if _, err := Start(base, Request{Subsystem: "nope"}, nil, nil, nil); !errors.Is(err, ErrNoSubsystem) {
		t.Errorf("Start(nope) = %v, want ErrNoSubsystem", err)
	}
	if _, err := subsystemCommand("sftp"); err != nil {
		testenv.Skip(t, "no sftp-server here: %v", err)
	}
	// SSH_FXP_INIT version 3; sftp-server answers SSH_FXP_VERSION. Its
	// stdin stays open until then: sftp-server drops queued replies at EOF.
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p, err := Start(base, Request{Subsystem: "sftp"}, inR, outW, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal("TERM"); !errors.Is(err, ErrSignal) {
		t.Errorf("Signal to subsystem = %v, want ErrSignal", err)
	}
	go inW.Write([]byte{0, 0, 0, 5, 1, 0, 0, 0, 3})
	b := make([]byte, 9)
	if _, err := io.ReadFull(outR, b); err != nil {
		t.Fatal(err)
	}
	if b[4] != 2 || binary.BigEndian.Uint32(b[5:9]) != 3 {
		t.Errorf("sftp-server answered %x, want SSH_FXP_VERSION 3", b)
	}
	inW.Close()
	go io.Copy(io.Discard, outR)
	if res := p.Wait(); res.Status != 0 {
		t.Errorf("result %+v", res)
	}
	outW.Close()
}

func TestFindAccount(t *testing.T) {
	const passwd = "root:x:0:0:root:/root:/bin/bash\nbad line\nbob:x:1000:1000:Bob,,,:/home/bob:/bin/zsh\nnosh:x:1001:1001::/home/nosh:\n"
	tests := []struct {
		uid  int
		want account
	}{
		{0, account{"root", "/root", "/bin/bash"}},
		{1000, account{"bob", "/home/bob", "/bin/zsh"}},
		{1001, account{"nosh", "/home/nosh", ""}},
		{42, account{}},
	}
	for _, tt := range tests {
		got := findAccount(passwd, tt.uid)
		if got != tt.want {
			t.Errorf("uid %d: %+v, want %+v", tt.uid, got, tt.want)
		}
	}
}

func TestReadEnviron(t *testing.T) {
	base := BaseEnv(bootstrap(t, "/bin/sh"))
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	// The shell exports more, but its environ stays what it was started with.
	p, err := Start(base, Request{Command: "export ADDED=1; echo ready; read x"}, inR, outW, nil)
	if err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(outR).ReadString('\n'); line != "ready\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	env, err := ReadEnviron(p.proc.Pid)
	inW.Close()
	go io.Copy(io.Discard, outR)
	p.Wait()
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := sessionEnv(base, lookupAccount(), "/bin/sh", Request{})
	slices.Sort(env)
	slices.Sort(want)
	if !slices.Equal(env, want) {
		t.Errorf("environ %q, want %q", env, want)
	}
	if _, err := ReadEnviron(-1); err == nil {
		t.Error("ReadEnviron(-1) succeeded")
	}
}

func TestShellArgv(t *testing.T) {
	tests := []struct {
		shell, cmd string
		login      bool
		want       []string
	}{
		{"/bin/bash", "ls", false, []string{"bash", "-c", "ls"}},
		{"/usr/bin/zsh", "", true, []string{"-zsh"}},
		{"sh", "", false, []string{"sh", "-c", ""}},
	}
	for _, tt := range tests {
		if got := shellArgv(tt.shell, tt.cmd, tt.login); !slices.Equal(got, tt.want) {
			t.Errorf("shellArgv(%q, %q, %v) = %q, want %q", tt.shell, tt.cmd, tt.login, got, tt.want)
		}
	}
}
