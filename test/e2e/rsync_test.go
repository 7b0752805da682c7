package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// tree writes a 20 MiB file and 200 small ones under dir.
func tree(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "small"), 0o755); err != nil {
		t.Fatal(err)
	}
	sshdtest.RandomFile(t, filepath.Join(dir, "big"), 20<<20)
	for i := 0; i < 200; i++ {
		sshdtest.RandomFile(t, filepath.Join(dir, "small", fmt.Sprintf("f%03d", i)), int64(100+i*37))
	}
}

// digest maps each regular file under dir (relative path) to its sha256.
func digest(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = sshdtest.SHA256File(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameTree(t *testing.T, a, b string) {
	t.Helper()
	da, db := digest(t, a), digest(t, b)
	if len(da) != len(db) {
		t.Fatalf("%s has %d files, %s has %d", a, len(da), b, len(db))
	}
	for k, v := range da {
		if db[k] != v {
			t.Fatalf("%s differs between %s and %s", k, a, b)
		}
	}
}

func TestRsyncPushPullDelete(t *testing.T) {
	testenv.NeedTool(t, "rsync")
	r := newRig(t)
	base := t.TempDir()
	src, remote, back := filepath.Join(base, "src"), filepath.Join(base, "remote"), filepath.Join(base, "back")
	tree(t, src)

	r.must(r.run(nil, "rsync", "-a", "-e", "fakessh", src+"/", "target:"+remote+"/"))
	sameTree(t, src, remote)

	r.must(r.run(nil, "rsync", "-a", "-e", "fakessh", "target:"+remote+"/", back+"/"))
	sameTree(t, src, back)

	// --delete: files gone from the source go from the destination too; changed ones update.
	for i := 0; i < 50; i++ {
		os.Remove(filepath.Join(src, "small", fmt.Sprintf("f%03d", i)))
	}
	// The new big has the old size and, on a fast machine, the old mtime to the second: a
	// distinct mtime keeps rsync's quick check (size and mtime) from skipping it.
	big, changed := filepath.Join(src, "big"), time.Unix(1e9, 0)
	sshdtest.RandomFile(t, big, 20<<20)
	if err := os.Chtimes(big, changed, changed); err != nil {
		t.Fatal(err)
	}
	r.must(r.run(nil, "rsync", "-a", "--delete", "-e", "fakessh", src+"/", "target:"+remote+"/"))
	sameTree(t, src, remote)
	if n := len(digest(t, remote)); n != 151 {
		t.Fatalf("after --delete the destination has %d files, want 151", n)
	}
	if n := r.srv.Logins(); n != 1 {
		t.Fatalf("three rsync runs made %d sshd logins, want 1", n)
	}
}
