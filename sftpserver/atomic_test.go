package sftpserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// temps lists the temporary files in dir.
func temps(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), atomicfile.TempPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestTruncatingOpenReplacesOnClose(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	writeFile(t, p, "old content")
	os.Chmod(p, 0o640)
	c := newClient(t, dir)
	h := c.mustHandle(fxpOpen, "f", uint32(fxfWrite|fxfCreat|fxfTrunc), attrs{flags: attrPermissions, perm: 0o666})
	c.mustOK(fxpWrite, h, uint64(0), "new")
	if got := readFile(t, p); got != "old content" {
		t.Errorf("before CLOSE a reader sees %q, want the old file", got)
	}
	if a, code := c.attrs(fxpFstat, h); code != fxOK || a.size != 3 {
		t.Errorf("fstat of the handle: %+v %d", a, code)
	}
	c.mustOK(fxpFsetstat, h, attrs{flags: attrACModTime, atime: 1000000000, mtime: 1000000000})
	c.mustOK(fxpClose, h)
	if got := readFile(t, p); got != "new" {
		t.Errorf("after CLOSE: %q", got)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640 || st.ModTime().Unix() != 1000000000 {
		t.Errorf("mode %v mtime %v: want the old file's mode and the FSETSTAT time", st.Mode(), st.ModTime())
	}
	if l := temps(t, dir); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestSessionEndingMidUploadKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	writeFile(t, p, "old")
	c := newClient(t, dir)
	h := c.mustHandle(fxpOpen, "f", uint32(fxfWrite|fxfTrunc), attrs{})
	c.mustOK(fxpWrite, h, uint64(0), "partial")
	newHandle := c.mustHandle(fxpOpen, "brand-new", uint32(fxfWrite|fxfCreat|fxfExcl), attrs{})
	c.mustOK(fxpWrite, newHandle, uint64(0), "partial")
	if len(temps(t, dir)) != 2 {
		t.Errorf("temporary files while writing: %v", temps(t, dir))
	}
	if err := c.result(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "old" {
		t.Errorf("after the session died: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "brand-new")); err == nil {
		t.Error("a new file whose upload never closed exists")
	}
	if l := temps(t, dir); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}

func TestInPlaceWhereNoRenameCan(t *testing.T) {
	dir := t.TempDir()
	c := newClient(t, dir)
	// A device is written, never replaced.
	h := c.mustHandle(fxpOpen, os.DevNull, uint32(fxfWrite|fxfCreat|fxfTrunc), attrs{})
	c.mustOK(fxpWrite, h, uint64(0), "gone")
	c.mustOK(fxpClose, h)
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v %v", st, err)
	}
	// O_CREAT without O_TRUNC on an existing file keeps its content.
	p := filepath.Join(dir, "keep")
	writeFile(t, p, "abcdef")
	h = c.mustHandle(fxpOpen, "keep", uint32(fxfWrite|fxfCreat), attrs{})
	c.mustOK(fxpWrite, h, uint64(2), "XY")
	c.mustOK(fxpClose, h)
	if got := readFile(t, p); got != "abXYef" {
		t.Errorf("in-place write: %q", got)
	}
}

func TestAbandonedTempReapedOnNextContact(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, atomicfile.TempPrefix+"00112233445566ff")
	writeFile(t, left, "a killed agent's upload")
	c := newClient(t, dir)
	h := c.mustHandle(fxpOpen, "f", uint32(fxfWrite|fxfCreat|fxfTrunc), attrs{})
	if _, err := os.Lstat(left); err == nil {
		t.Error("the abandoned temporary file survived an upload into its directory")
	}
	c.mustOK(fxpClose, h)
}

func TestReplaceKeepsTheFileOnAFullDisk(t *testing.T) {
	// A file system that cannot take the write: the upload fails, the old file stays.
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a tmpfs") // unit layer: the e2e disk-full test requires it
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	p := filepath.Join(dir, "f")
	writeFile(t, p, "old")
	c := newClient(t, dir)
	h := c.mustHandle(fxpOpen, "f", uint32(fxfWrite|fxfTrunc), attrs{})
	chunk := strings.Repeat("x", 32<<10)
	failed := false
	for off := 0; off < 1<<20 && !failed; off += len(chunk) {
		failed = c.status(fxpWrite, h, uint64(off), chunk) != fxOK
	}
	if !failed {
		t.Fatal("1 MiB fit in a 256 KiB tmpfs")
	}
	if code := c.status(fxpClose, h); code == fxOK {
		t.Error("CLOSE after a failed write succeeded")
	}
	if got := readFile(t, p); got != "old" {
		t.Errorf("after ENOSPC the file holds %d bytes, want the old 3", len(got))
	}
	if l := temps(t, dir); len(l) > 0 {
		t.Errorf("left behind: %v", l)
	}
}
