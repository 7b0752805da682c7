package sftpserver

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// The real OpenSSH clients against Serve. The test binary doubles as the server: run with
// serveEnv set, it serves stdin/stdout in the directory serveEnv names, ignoring its arguments,
// so it stands in for sftp-server (sftp -D) and for ssh running the subsystem (scp -S).
const serveEnv = "SFTPSERVER_TEST_SERVE_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(serveEnv); dir != "" {
		if err := Serve(os.Stdin, os.Stdout, Config{Dir: dir}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// openssh runs an OpenSSH client whose server is this test binary serving home.
func openssh(t *testing.T, home string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), serveEnv+"="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func randomFile(t *testing.T, p string, size int) []byte {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	if err1 != nil || err2 != nil || string(x) != string(y) {
		t.Errorf("%s and %s differ (%v, %v)", a, b, err1, err2)
	}
}

func TestOpenSSHSFTPBatch(t *testing.T) {
	testenv.NeedTool(t, "sftp")
	base := t.TempDir()
	home, local := filepath.Join(base, "home"), filepath.Join(base, "local")
	for _, d := range []string{home, local} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	randomFile(t, filepath.Join(local, "big"), 5<<20+123)
	randomFile(t, filepath.Join(local, "small"), 10)
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(local, "small"), old, old); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"pwd",
		"mkdir dir",
		"cd dir",
		"put " + filepath.Join(local, "big") + " up",
		"put -p " + filepath.Join(local, "small") + " kept",
		"rename up moved",
		"chmod 600 moved",
		"ln -s moved link",
		"ln kept hard",
		"mkdir gone",
		"rmdir gone",
		"put " + filepath.Join(local, "small") + " removed",
		"rm removed",
		"ls -l",
		"df",
		"get moved " + filepath.Join(local, "back"),
		"get -p kept " + filepath.Join(local, "kept-back"),
	}, "\n") + "\n"
	batch := filepath.Join(base, "batch")
	if err := os.WriteFile(batch, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := openssh(t, home, "sftp", "-b", batch, "-D", self)

	if !strings.Contains(out, "Remote working directory: "+home+"\n") {
		t.Errorf("sftp did not start in the home directory:\n%s", out)
	}
	dir := filepath.Join(home, "dir")
	sameFile(t, filepath.Join(local, "big"), filepath.Join(dir, "moved"))
	sameFile(t, filepath.Join(local, "big"), filepath.Join(local, "back"))
	sameFile(t, filepath.Join(local, "small"), filepath.Join(dir, "kept"))
	sameFile(t, filepath.Join(local, "small"), filepath.Join(dir, "hard"))
	if st, err := os.Stat(filepath.Join(dir, "moved")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("chmod 600: %v %v", st.Mode(), err)
	}
	for _, p := range []string{filepath.Join(dir, "kept"), filepath.Join(local, "kept-back")} {
		if st, err := os.Stat(p); err != nil || !st.ModTime().Equal(old) {
			t.Errorf("%s: -p did not keep the mtime: %v %v", p, st.ModTime(), err)
		}
	}
	if target, err := os.Readlink(filepath.Join(dir, "link")); err != nil || target != "moved" {
		t.Errorf("ln -s: %q %v", target, err)
	}
	for _, p := range []string{"up", "gone", "removed"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s still exists", p)
		}
	}
	for _, want := range []string{"-rw-------", " moved\n", "lrwxrwxrwx", " link\n", "Size"} {
		if !strings.Contains(out, want) {
			t.Errorf("sftp output lacks %q:\n%s", want, out)
		}
	}
}

func TestOpenSSHSCPRecursive(t *testing.T) {
	testenv.NeedTool(t, "scp")
	base := t.TempDir()
	home, src := filepath.Join(base, "home"), filepath.Join(base, "src")
	if err := os.MkdirAll(filepath.Join(src, "sub", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	files := []string{"a", "sub/b", "sub/deeper/c", "name with space"}
	for i, f := range files {
		p := filepath.Join(src, f)
		randomFile(t, p, 1+i*400000)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A relative remote path lands in the home directory; the host name is ignored.
	openssh(t, home, "scp", "-s", "-S", self, "-r", "-p", "-q", src, "target:up")
	back := filepath.Join(base, "back")
	openssh(t, home, "scp", "-s", "-S", self, "-r", "-p", "-q", "target:"+filepath.Join(home, "up"), back)
	for _, f := range files {
		for _, p := range []string{filepath.Join(home, "up", f), filepath.Join(back, f)} {
			sameFile(t, filepath.Join(src, f), p)
			if st, err := os.Stat(p); err != nil || !st.ModTime().Equal(old) {
				t.Errorf("%s: scp -p did not keep the mtime: %v", p, err)
			}
		}
	}
}
