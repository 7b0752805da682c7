package scpserver

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// The real scp -O against Serve. The test binary doubles as ssh: run with serveEnv set, it takes
// the remote command (its last argument), parses it as the agent's caller does and serves it on
// stdin and stdout in the directory serveEnv names.
const serveEnv = "SCPSERVER_TEST_SERVE_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(serveEnv); dir != "" {
		req, ok := ParseArgs(strings.Fields(os.Args[len(os.Args)-1]))
		if !ok {
			fmt.Fprintf(os.Stderr, "not an scp command: %q\n", os.Args[len(os.Args)-1])
			os.Exit(127)
		}
		req.Dir = dir
		os.Exit(Serve(os.Stdin, os.Stdout, req))
	}
	os.Exit(m.Run())
}

// scp runs the real scp -O with this binary as its ssh; it returns stderr and the exit status.
func scp(t *testing.T, home string, args ...string) (string, int) {
	t.Helper()
	testenv.NeedTool(t, "scp")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("scp", append([]string{"-O", "-q", "-S", self}, args...)...)
	cmd.Env = append(os.Environ(), serveEnv+"="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return stderr.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stderr.String(), 0
}

func randomFile(t *testing.T, p string, size int) []byte {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func same(t *testing.T, a, b string) {
	t.Helper()
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
		t.Errorf("%s and %s differ (%v, %v)", a, b, err1, err2)
	}
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(info.Name(), atomicfile.TempPrefix) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

func TestRecursivePreserveBothWays(t *testing.T) {
	base := t.TempDir()
	home, src, back := filepath.Join(base, "home"), filepath.Join(base, "src"), filepath.Join(base, "back")
	os.Mkdir(home, 0o755)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	files := []string{"a", "sub/b", "sub/deeper/c", "empty"}
	for i, f := range files {
		p := filepath.Join(src, f)
		randomFile(t, p, i*300000)
		os.Chmod(p, 0o640)
		os.Chtimes(p, old, old)
	}
	if msg, code := scp(t, home, "-r", "-p", src, "target:up"); code != 0 {
		t.Fatalf("push: %d %s", code, msg)
	}
	if msg, code := scp(t, home, "-r", "-p", "target:up", back); code != 0 {
		t.Fatalf("pull: %d %s", code, msg)
	}
	for _, f := range files {
		for _, p := range []string{filepath.Join(home, "up", f), filepath.Join(back, f)} {
			same(t, filepath.Join(src, f), p)
			st, err := os.Stat(p)
			if err != nil || !st.ModTime().Equal(old) || st.Mode().Perm() != 0o640 {
				t.Errorf("%s: -p kept neither time nor mode: %v %v", p, st.ModTime(), st.Mode())
			}
		}
	}
	noTemps(t, home)
}

func TestOverwriteKeepsModeAndErrorsAsSCP(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	os.Mkdir(home, 0o755)
	dest := filepath.Join(home, "app.conf")
	os.WriteFile(dest, []byte("old"), 0o600)
	src := filepath.Join(base, "app.conf")
	randomFile(t, src, 1000)
	if msg, code := scp(t, home, src, "target:app.conf"); code != 0 {
		t.Fatalf("%d %s", code, msg)
	}
	same(t, src, dest)
	if st, _ := os.Stat(dest); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the old file's 0600", st.Mode())
	}
	// Messages and status as scp's own remote end gives them.
	msg, code := scp(t, home, src, "target:no/such/dir/x")
	if code != 1 || msg != "scp: no/such/dir/x: No such file or directory\n" {
		t.Errorf("missing directory: %d %q", code, msg)
	}
	msg, code = scp(t, home, "target:missing", base)
	if code != 1 || msg != "scp: missing: No such file or directory\n" {
		t.Errorf("missing source: %d %q", code, msg)
	}
	msg, code = scp(t, home, src, src, "target:app.conf")
	if code != 1 || msg != "scp: app.conf: Not a directory\n" {
		t.Errorf("two files to a file: %d %q", code, msg)
	}
	noTemps(t, home)
}

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		argv string
		ok   bool
		want Request
	}{
		{"scp -t -- /tmp/x", true, Request{Sink: true, Paths: []string{"/tmp/x"}}},
		{"scp -r -p -d -t dir", true, Request{Sink: true, Recursive: true, Preserve: true, TargetDir: true, Paths: []string{"dir"}}},
		{"scp -f a b", true, Request{Paths: []string{"a", "b"}}},
		{"scp -rf a", true, Request{Recursive: true, Paths: []string{"a"}}},
		{"scp -v -t x", false, Request{}},
		{"scp -t a b", false, Request{}},
		{"scp -t -f a", false, Request{}},
		{"scp -r a", false, Request{}},
		{"/usr/bin/scp -t x", false, Request{}},
		{"rsync -t x", false, Request{}},
	} {
		got, ok := ParseArgs(strings.Fields(c.argv))
		if ok != c.ok || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%q: %+v %v, want %+v %v", c.argv, got, ok, c.want, c.ok)
		}
	}
}
