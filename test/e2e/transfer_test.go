package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// mitogend cp through the real daemon and sshd: push and pull of a tree, byte for byte, with
// modes and times; messages per file.

func (r *rig) cp(args ...string) result {
	r.t.Helper()
	return r.run(nil, filepath.Join(binDir, "mitogend"), append([]string{"cp"}, args...)...)
}

// tempFiles lists what atomicfile leaves in dir (recursively).
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && (strings.HasPrefix(info.Name(), atomicfile.TempPrefix) || strings.HasPrefix(info.Name(), atomicfile.PartialPrefix)) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestCpPushPull(t *testing.T) {
	r := newRig(t)
	base := t.TempDir()
	src := filepath.Join(base, "src")
	sshdtest.RandomFile(t, filepath.Join(src, "big"), 5<<20)
	for i := range 30 {
		sshdtest.RandomFile(t, filepath.Join(src, "sub", "f"+string(rune('a'+i%26))+strings.Repeat("z", i/26)), int64(1000*i))
	}
	remote := filepath.Join(base, "remote")
	r.must(r.cp("-r", "-p", src, "target:"+remote))
	back := filepath.Join(base, "back")
	r.must(r.cp("-r", "-p", "target:"+remote, back))
	for _, rel := range []string{"big", "sub/fa", "sub/fd", "sub/fdz"} {
		want := sshdtest.SHA256File(t, filepath.Join(src, rel))
		for _, p := range []string{filepath.Join(remote, rel), filepath.Join(back, rel)} {
			if got := sshdtest.SHA256File(t, p); got != want {
				t.Errorf("%s differs", p)
			}
			a, _ := os.Stat(filepath.Join(src, rel))
			b, _ := os.Stat(p)
			if !a.ModTime().Equal(b.ModTime()) || a.Mode() != b.Mode() {
				t.Errorf("%s: -p: %v %v, want %v %v", p, b.ModTime(), b.Mode(), a.ModTime(), a.Mode())
			}
		}
	}
	// Per-file errors, the others copied, exit 1.
	res := r.cp(filepath.Join(base, "missing"), filepath.Join(src, "big"), "target:"+filepath.Join(base, "nodir", "x"))
	if res.code != 1 || !strings.Contains(res.stderr, "missing: No such file or directory") || !strings.Contains(res.stderr, "Not a directory") {
		t.Errorf("errors: %d %q", res.code, res.stderr)
	}
	if l := tempFiles(t, base); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
	// A destination the user may not replace: the system's words, the old file kept.
	ro := filepath.Join(base, "ro")
	os.Mkdir(ro, 0o755)
	os.WriteFile(filepath.Join(ro, "f"), []byte("old"), 0o444)
	if os.Getuid() != 0 {
		res = r.cp(filepath.Join(src, "big"), "target:"+filepath.Join(ro, "f"))
		if res.code != 1 || !strings.Contains(res.stderr, "Permission denied") {
			t.Errorf("read-only file: %d %q", res.code, res.stderr)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(ro, "f")); !bytes.Equal(b, []byte("old")) && os.Getuid() != 0 {
		t.Error("the read-only file changed")
	}
}
