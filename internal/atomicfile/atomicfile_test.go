package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func write(t *testing.T, p string, b []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, b, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
}

// leftovers lists the files of dir that this package made.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), TempPrefix) || strings.HasPrefix(e.Name(), PartialPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestReplaceKeepsModeAndOrder(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "app.conf")
	write(t, dest, []byte("old"), 0o640)
	var steps []string
	af, err := Create(dest, Options{Perm: 0o666, Trace: func(step, p string) { steps = append(steps, step) }})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); string(got) != "old" {
		t.Fatalf("destination changed before commit: %q", got)
	}
	if _, err := af.Write([]byte("new content")); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	af.Chtimes(mtime, mtime)
	if err := af.Commit(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); string(got) != "new content" {
		t.Errorf("content %q", got)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old file's 0640", st.Mode())
	}
	if !st.ModTime().Equal(mtime) {
		t.Errorf("mtime %v, want %v", st.ModTime(), mtime)
	}
	// The order that makes a crash leave the old file or the new one: times before the sync,
	// the sync before the rename, the directory's sync after it.
	order := strings.Join(steps, " ")
	if !regexpMatch(`^create .*futimens .*fsync rename fsync-dir$`, order) {
		t.Errorf("steps %q", order)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestAbortLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "f")
	write(t, dest, []byte("old"), 0o644)
	af, err := Create(dest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	af.Write([]byte("half"))
	if l := leftovers(t, dir); len(l) != 1 || !strings.HasPrefix(l[0], TempPrefix) {
		t.Errorf("while writing: %v", l)
	}
	if err := af.Abort(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); string(got) != "old" {
		t.Errorf("after abort: %q", got)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestSymlinkWrittenThrough(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "real"), 0o755)
	target := filepath.Join(dir, "real", "target")
	write(t, target, []byte("old"), 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink("real/target", link); err != nil {
		t.Fatal(err)
	}
	af, err := Create(link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if af.Dest() != target || filepath.Dir(af.Temp()) != filepath.Dir(target) {
		t.Errorf("dest %s temp %s, want beside %s", af.Dest(), af.Temp(), target)
	}
	af.Write([]byte("new"))
	if err := af.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
	if got, _ := os.ReadFile(target); string(got) != "new" {
		t.Errorf("target %q", got)
	}
}

func TestCreateRefusals(t *testing.T) {
	dir := t.TempDir()
	exists := filepath.Join(dir, "exists")
	write(t, exists, []byte("x"), 0o644)
	if _, err := Create(exists, Options{Exclusive: true}); !errors.Is(err, os.ErrExist) {
		t.Errorf("exclusive over a file: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "missing"), Options{MustExist: true}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("must-exist: %v", err)
	}
	if _, err := Create(dir, Options{}); !errors.Is(err, unix.EISDIR) {
		t.Errorf("a directory: %v", err)
	}
	if _, err := Create(os.DevNull, Options{}); !errors.Is(err, ErrNotReplaceable) {
		t.Errorf("/dev/null: %v", err)
	}
	if _, err := Create(filepath.Join(dir, "no", "such", "dir"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestExclusiveCommitDoesNotReplace(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "new")
	af, err := Create(dest, Options{Exclusive: true, Perm: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	write(t, dest, []byte("theirs"), 0o644) // made by someone else meanwhile
	af.Write([]byte("ours"))
	if err := af.Commit(); !errors.Is(err, os.ErrExist) {
		t.Errorf("commit over a file made meanwhile: %v", err)
	}
	if got, _ := os.ReadFile(dest); string(got) != "theirs" {
		t.Errorf("dest %q", got)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestNewFileModeHonoursUmask(t *testing.T) {
	dir := t.TempDir()
	old := unix.Umask(0o027)
	defer unix.Umask(old)
	dest := filepath.Join(dir, "new")
	af, err := Create(dest, Options{Perm: 0o666})
	if err != nil {
		t.Fatal(err)
	}
	af.Write([]byte("x"))
	if err := af.Commit(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dest); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 under umask 027", st.Mode())
	}
}

// TestReaderSeesOldOrNew reads the destination while it is replaced again and again.
func TestReaderSeesOldOrNew(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "f")
	a, b := bytes.Repeat([]byte("a"), 1<<20), bytes.Repeat([]byte("b"), 3<<20)
	write(t, dest, a, 0o644)
	stop := make(chan struct{})
	bad := make(chan string, 1)
	go func() {
		defer close(bad)
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := os.ReadFile(dest)
			if err != nil || !(bytes.Equal(got, a) || bytes.Equal(got, b)) {
				bad <- fmt.Sprintf("a reader saw %d bytes (%v)", len(got), err)
				return
			}
		}
	}()
	for i := 0; i < 50; i++ {
		af, err := Create(dest, Options{})
		if err != nil {
			t.Fatal(err)
		}
		content := a
		if i%2 == 0 {
			content = b
		}
		for off := 0; off < len(content); off += 64 << 10 {
			af.Write(content[off : off+64<<10])
		}
		if err := af.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if msg, ok := <-bad; ok {
		t.Error(msg)
	}
}

func TestReapTakesOnlyAbandoned(t *testing.T) {
	dir := t.TempDir()
	abandoned := filepath.Join(dir, TempPrefix+"0123456789abcdef")
	write(t, abandoned, []byte("left by a killed writer"), 0o600)
	live, err := Create(filepath.Join(dir, "busy"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Abort()
	user := filepath.Join(dir, ".mitogen-notours")
	write(t, user, nil, 0o600)
	oldPartial := filepath.Join(dir, PartialName("big"))
	write(t, oldPartial, []byte("old"), 0o600)
	ago := time.Now().Add(-PartialMaxAge - time.Hour)
	os.Chtimes(oldPartial, ago, ago)
	freshPartial := filepath.Join(dir, PartialName("other"))
	write(t, freshPartial, []byte("fresh"), 0o600)

	removed, err := Reap(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{abandoned: true, oldPartial: true}
	if len(removed) != len(want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, p := range removed {
		if !want[p] {
			t.Errorf("removed %s", p)
		}
	}
	for _, p := range []string{live.Temp(), user, freshPartial} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestPartialSurvivesAbort(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "big")
	af, err := Create(dest, Options{Partial: true, Perm: 0o644})
	if err != nil {
		t.Fatal(err)
	}
	af.Write([]byte("first half"))
	af.Abort()
	again, err := Create(dest, Options{Partial: true, Perm: 0o644})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Create(dest, Options{Partial: true}); err == nil {
		t.Error("a second writer got the partial file while it was being written")
	}
	st, _ := again.File().Stat()
	if st.Size() != int64(len("first half")) {
		t.Errorf("partial holds %d bytes", st.Size())
	}
	again.File().Seek(0, 2)
	again.Write([]byte(", second"))
	if err := again.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); string(got) != "first half, second" {
		t.Errorf("resumed %q", got)
	}
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
