package sftpserver

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// extTree makes the same small tree in dir for both servers, with fixed times.
func extTree(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	// More than one copy-data buffer, the same bytes in both trees.
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte(strings.Repeat("0123456789abcdef", 300<<6)+"tail"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(dir, "lnk")); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, p := range []string{"a", "sub", "."} {
		if err := os.Chtimes(filepath.Join(dir, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExtensionsSideBySide runs one sftp batch through OpenSSH 9.2's sftp-server and through
// Serve, each on its own copy of a tree, and requires the same output (the directories' names
// aside) and the same files after: cp (copy-data), cd ~ and ~user (expand-path), chmod -h and
// touch-like -h on a file and a symlink (lsetstat), ls -l on a glob (users-groups-by-id).
func TestExtensionsSideBySide(t *testing.T) {
	testenv.NeedTool(t, "sftp")
	const real = "/usr/lib/openssh/sftp-server"
	if _, err := os.Stat(real); err != nil {
		testenv.Skip(t, "no %s: %v", real, err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	script := strings.Join([]string{
		"cp a b",
		"cp a kept",
		"ls -ln a kept sub",
		"ls -l *",
		"chmod -h 600 a",
		"chown -h 0 a",
		"-cd ~",
		"pwd",
		"-cd ~/sub",
		"pwd",
		"-cd ~root",
		"pwd",
		"-cd ~nosuchuser-mg",
		"pwd",
		"-chmod -h 600 lnk",
		"ls -ln",
	}, "\n") + "\n"
	batch := filepath.Join(base, "batch")
	if err := os.WriteFile(batch, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(dir string, server []string, env ...string) string {
		extTree(t, dir)
		args := append([]string{"-b", batch, "-D"}, strings.Join(server, " "))
		cmd := exec.Command("sftp", args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sftp -D %s: %v\n%s", server[0], err, out)
		}
		return strings.ReplaceAll(string(out), dir, "HOME")
	}
	realDir, ourDir := filepath.Join(base, "real"), filepath.Join(base, "ours")
	want := run(realDir, []string{real, "-d", realDir})
	got := run(ourDir, []string{self}, serveEnv+"="+ourDir)
	if got != want {
		t.Errorf("sftp output differs\nServe:\n%s\nsftp-server:\n%s", got, want)
	}
	for _, p := range []string{"a", "b", "kept"} {
		sameFile(t, filepath.Join(realDir, p), filepath.Join(ourDir, p))
		r, err1 := os.Lstat(filepath.Join(realDir, p))
		o, err2 := os.Lstat(filepath.Join(ourDir, p))
		if err1 != nil || err2 != nil || r.Mode() != o.Mode() {
			t.Errorf("%s: sftp-server left %v %v, Serve %v %v (%v %v)", p, r.Mode(), r.ModTime(), o.Mode(), o.ModTime(), err1, err2)
		}
	}
}
