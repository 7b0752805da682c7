package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

func TestOutputStderrAndExitStatus(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		name, cmd      string
		stdout, stderr string
		code           int
	}{
		{"ok", "echo out; echo err >&2", "out\n", "err\n", 0},
		{"false", "echo x; exit 1", "x\n", "", 1},
		{"42", "echo e >&2; exit 42", "", "e\n", 42},
		{"signal", "kill -9 $$", "", "", 255},
		{"arguments joined", "printf '%s|' a   b", "a|b|", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"target"}
			if c.name == "arguments joined" {
				args = append(args, "printf", "'%s|'", "a", "b")
			} else {
				args = append(args, c.cmd)
			}
			res := r.fakessh(nil, args...)
			if res.stdout != c.stdout || res.stderr != c.stderr || res.code != c.code {
				t.Errorf("got stdout %q stderr %q exit %d, want %q %q %d", res.stdout, res.stderr, res.code, c.stdout, c.stderr, c.code)
			}
		})
	}
}

func TestSessionEnvironmentAsSSHD(t *testing.T) {
	r := newRig(t)
	res := r.must(r.fakessh(nil, "target", `echo "$HOME|$USER|$LOGNAME|${SSH_CONNECTION:+conn}|${SSH_CLIENT:+client}|$PATH"; pwd`))
	lines := strings.Split(trim(res.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("output %q", res.stdout)
	}
	f := strings.Split(lines[0], "|")
	if f[0] != r.srv.Home || f[1] != r.srv.User || f[2] != r.srv.User || f[3] != "conn" || f[4] != "client" || f[5] == "" {
		t.Errorf("environment %q: want HOME=%s USER=LOGNAME=%s and SSH_CONNECTION, SSH_CLIENT, PATH set", lines[0], r.srv.Home, r.srv.User)
	}
	// sshd starts sessions in the account's home directory from the password database.
	ssh := exec.Command("ssh", append(r.srv.SSHArgs(), "pwd")...)
	want, err := ssh.Output()
	if err != nil {
		t.Fatal(err)
	}
	if lines[1] != trim(string(want)) {
		t.Errorf("working directory %q, plain ssh says %q", lines[1], want)
	}
}

func TestBinaryStdinStdoutRoundTrip(t *testing.T) {
	r := newRig(t)
	data := make([]byte, 16<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	res := r.must(r.fakessh(bytes.NewReader(data), "target", "cat"))
	if got, want := sha256.Sum256([]byte(res.stdout)), sha256.Sum256(data); got != want {
		t.Fatalf("sha256 %x after the round trip (%d bytes), want %x", got, len(res.stdout), want)
	}
	// And the same bytes to stderr, kept apart from stdout.
	res = r.must(r.fakessh(bytes.NewReader(data[:1<<20]), "target", "cat >&2"))
	if res.stdout != "" || res.stderr != string(data[:1<<20]) {
		t.Fatalf("stderr carried %d bytes (stdout %d), want %d on stderr only", len(res.stderr), len(res.stdout), 1<<20)
	}
}

func TestStdinEOFAndNoStdin(t *testing.T) {
	r := newRig(t)
	res := r.must(r.fakessh(strings.NewReader("abc"), "target", "wc -c"))
	if trim(res.stdout) != "3" {
		t.Errorf("wc -c of stdin: %q", res.stdout)
	}
	// -n: stdin is /dev/null even though ours never ends. (An *os.File, so that exec hands the
	// pipe itself to fakessh instead of copying into it and waiting for that copy.)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	res = r.must(r.fakessh(pr, "-n", "target", "cat; echo done"))
	if res.stdout != "done\n" {
		t.Errorf("-n: %q", res.stdout)
	}
	// A command that never reads stdin finishes although stdin never ends.
	res = r.must(r.fakessh(pr, "target", "echo fine"))
	if res.stdout != "fine\n" {
		t.Errorf("%q", res.stdout)
	}
}

func TestTwentyCallsOneLogin(t *testing.T) {
	r := newRig(t)
	for i := 0; i < 20; i++ {
		res := r.must(r.fakessh(nil, "target", fmt.Sprintf("echo %d", i)))
		if trim(res.stdout) != fmt.Sprint(i) {
			t.Fatalf("call %d: %q", i, res.stdout)
		}
	}
	if n := r.srv.Logins(); n != 1 {
		t.Fatalf("sshd saw %d logins for 20 calls, want 1\n%s", n, r.srv.Log())
	}
}

func TestTwentyConcurrentCalls(t *testing.T) {
	r := newRig(t)
	// Cold: no daemon, no connection. All twenty race to start the daemon and to connect;
	// one daemon and one login must come out of it.
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res := r.fakessh(nil, "target", fmt.Sprintf("echo %d; echo e%d >&2; exit %d", i, i, i))
			if trim(res.stdout) != fmt.Sprint(i) || trim(res.stderr) != fmt.Sprintf("e%d", i) || res.code != i {
				errs <- fmt.Sprintf("call %d: %+v", i, res)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := r.srv.Logins(); n != 1 {
		t.Fatalf("sshd saw %d logins, want 1", n)
	}
}

// A call whose reader has stalled holds only its own stream: another call on the same tunnel
// completes meanwhile.
func TestStalledReaderDoesNotBlockOtherCalls(t *testing.T) {
	r := newRig(t)
	r.must(r.fakessh(nil, "target", "true"))
	big := exec.Command(filepath.Join(binDir, "fakessh"), "target", "head -c 67108864 /dev/zero")
	big.Env = r.env
	out, err := big.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Start(); err != nil {
		t.Fatal(err)
	}
	// Read a little so we know the stream is flowing, then stop reading.
	if _, err := io.ReadFull(out, make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	res := r.must(r.fakessh(strings.NewReader("ping"), "target", "cat"))
	if res.stdout != "ping" {
		t.Errorf("second call: %q", res.stdout)
	}
	n, err := io.Copy(io.Discard, out)
	if err != nil || n+1<<20 != 64<<20 {
		t.Errorf("stalled stream delivered %d+1MiB bytes (%v), want 64 MiB", n, err)
	}
	if err := big.Wait(); err != nil {
		t.Errorf("stalled call: %v", err)
	}
}

func TestBadOptionsAndUnreachableHosts(t *testing.T) {
	r := newRig(t)
	port := sshdtest.FreePort(t) // nothing listens there
	cases := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown option", []string{"-z", "target", "true"}, "unknown option -- z\r\nusage: ssh"},
		{"bad -o key", []string{"-o", "bogus=1", "target", "true"}, "command-line: line 0: Bad configuration option: bogus\r\n"},
		{"no destination", nil, "usage: ssh"},
		{"refused", []string{"-p", fmt.Sprint(port), "127.0.0.1", "true"}, fmt.Sprintf("ssh: connect to host 127.0.0.1 port %d: Connection refused\r\n", port)},
		{"unresolvable", []string{"nosuchhost.invalid", "true"}, "ssh: Could not resolve hostname nosuchhost.invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := r.fakessh(nil, c.args...)
			if res.code != 255 || !strings.HasPrefix(res.stderr, c.stderr) {
				t.Errorf("exit %d stderr %q, want 255 and %q", res.code, res.stderr, c.stderr)
			}
		})
	}
}

func TestHostKeyChangedIsRefused(t *testing.T) {
	r := newRig(t)
	kh := filepath.Join(r.srv.ClientHome, ".ssh", "known_hosts")
	key := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	other, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("[127.0.0.1]:%d %s", r.srv.Port, other)
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	res := r.fakessh(nil, "target", "true")
	if res.code != 255 || !strings.Contains(res.stderr, "REMOTE HOST IDENTIFICATION HAS CHANGED") || !strings.Contains(res.stderr, "Host key verification failed.") {
		t.Fatalf("exit %d stderr %q", res.code, res.stderr)
	}
	if r.srv.Logins() != 0 {
		t.Fatalf("logged in despite a changed host key")
	}
}

// No command: the login shell reads its commands from stdin, as with ssh when stdin is not a
// terminal.
func TestNoCommandRunsLoginShell(t *testing.T) {
	r := newRig(t)
	res := r.fakessh(strings.NewReader("echo \"shell:$0\"\nexit 7\n"), "target")
	if res.code != 7 || !strings.Contains(res.stdout, "shell:-") {
		t.Fatalf("exit %d stdout %q stderr %q: want a login shell ($0 starting with -) exiting 7", res.code, res.stdout, res.stderr)
	}
}

// -v says what the daemon did for this call; -q silences fakessh's own messages.
func TestVerboseAndQuiet(t *testing.T) {
	r := newRig(t)
	first := r.must(r.fakessh(nil, "-v", "target", "true"))
	second := r.must(r.fakessh(nil, "-v", "target", "true"))
	quiet := r.must(r.fakessh(nil, "-q", "target", "true"))
	if !strings.Contains(first.stderr, "debug1: mitogend: opened the connection to") || !strings.Contains(second.stderr, "debug1: mitogend: reusing the connection to") {
		t.Errorf("-v: first %q, second %q", first.stderr, second.stderr)
	}
	if quiet.stderr != "" {
		t.Errorf("-q printed %q", quiet.stderr)
	}
}

// Options ssh accepts with a warning (deprecated ones) print the same warning and carry on.
func TestDeprecatedOptionWarns(t *testing.T) {
	r := newRig(t)
	res := r.must(r.fakessh(nil, "-o", "RSAAuthentication=yes", "target", "echo fine"))
	if res.stdout != "fine\n" || res.stderr != "command-line line 0: Unsupported option \"rsaauthentication\"\r\n" {
		t.Fatalf("stdout %q stderr %q", res.stdout, res.stderr)
	}
}

// A -i file that cannot be read gets ssh's warning, and the call goes on with the other keys.
func TestMissingIdentityFileWarns(t *testing.T) {
	r := newRig(t)
	missing := filepath.Join(t.TempDir(), "nokey")
	res := r.must(r.fakessh(nil, "-i", missing, "target", "echo fine"))
	want := "Warning: Identity file " + missing + " not accessible: No such file or directory.\n"
	if res.stdout != "fine\n" || res.stderr != want {
		t.Fatalf("stdout %q stderr %q, want stderr %q", res.stdout, res.stderr, want)
	}
}
