package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrivateDir(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "a", "b")
	if err := privateDir(fresh); err != nil {
		t.Fatalf("new directory: %v", err)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o700 {
		t.Errorf("new directory has mode %v, want 0700", fi.Mode())
	}
	if err := privateDir(fresh); err != nil {
		t.Errorf("existing private directory refused: %v", err)
	}
	for _, mode := range []os.FileMode{0o755, 0o700 | os.ModeSticky, 0o777 | os.ModeSticky, 0o710} {
		dir := filepath.Join(base, strings.ReplaceAll(mode.String(), "-", "_"))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		err := privateDir(dir)
		if err == nil || !strings.Contains(err.Error(), "must be private") {
			t.Errorf("mode %v: privateDir = %v, want a refusal", mode, err)
		}
		if fi, _ := os.Stat(dir); fi.Mode() != mode|os.ModeDir {
			t.Errorf("mode %v: privateDir changed it to %v", mode, fi.Mode())
		}
	}
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	if err := privateDir(file); err == nil {
		t.Error("a file was taken for a socket directory")
	}
}
