package sftpserver

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func writeFile(t *testing.T, p string, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestVersionAdvertisesExtensions(t *testing.T) {
	c := newClient(t, t.TempDir())
	for _, e := range []string{"posix-rename@openssh.com", "statvfs@openssh.com", "fstatvfs@openssh.com",
		"hardlink@openssh.com", "fsync@openssh.com", "limits@openssh.com"} {
		if _, ok := c.exts[e]; !ok {
			t.Errorf("VERSION lacks %s: %v", e, c.exts)
		}
	}
	if err := c.result(); err != nil {
		t.Errorf("EOF after VERSION: Serve returned %v, want nil", err)
	}
}

func TestWriteAndReadAtOffsets(t *testing.T) {
	dir := t.TempDir()
	c := newClient(t, dir)
	data := make([]byte, 3*maxRead+17)
	rand.Read(data)
	h := c.mustHandle(fxpOpen, "f", uint32(fxfWrite|fxfCreat|fxfExcl), attrs{flags: attrPermissions, perm: 0o600})
	// Write the chunks backwards: the server must write at the offsets, not append.
	for off := (len(data) - 1) / 65536 * 65536; off >= 0; off -= 65536 {
		end := min(off+65536, len(data))
		c.mustOK(fxpWrite, h, uint64(off), data[off:end])
	}
	a, code := c.attrs(fxpFstat, h)
	if code != fxOK || a.size != uint64(len(data)) || a.perm != unix.S_IFREG|0o600 {
		t.Errorf("fstat: %+v %d, want size %d, mode 0100600", a, code, len(data))
	}
	c.mustOK(fxpClose, h)
	if got := readFile(t, filepath.Join(dir, "f")); got != string(data) {
		t.Fatal("file content differs from what was written")
	}

	h = c.mustHandle(fxpOpen, filepath.Join(dir, "f"), uint32(fxfRead), attrs{})
	// A read larger than the limit is shortened, never refused.
	if got := c.readAll(h, 1<<30); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes, differ from the %d written", len(got), len(data))
	}
	rt, d := c.call(fxpRead, h, uint64(10), uint32(5))
	if rt != fxpData || !bytes.Equal(d.bytes(), data[10:15]) {
		t.Errorf("read at offset 10: type %d, wrong data", rt)
	}
	if code := c.status(fxpRead, h, uint64(len(data)+100), uint32(5)); code != fxEOF {
		t.Errorf("read past the end: status %d, want EOF", code)
	}
	c.mustOK(fxpClose, h)
	if code := c.status(fxpClose, h); code != fxFailure {
		t.Errorf("second close: status %d, want FAILURE", code)
	}
}

func TestOpenFlags(t *testing.T) {
	dir := t.TempDir()
	c := newClient(t, dir)
	for _, tc := range []struct {
		name   string
		pflags uint32
		write  string
		code   uint32
		want   string
	}{
		{"excl on an existing file", fxfWrite | fxfCreat | fxfExcl, "x", fxFailure, "old"},
		{"missing without creat", fxfWrite, "x", fxNoSuchFile, ""},
		{"trunc", fxfWrite | fxfTrunc, "new", fxOK, "new"},
		{"no trunc overwrites in place", fxfWrite, "NE", fxOK, "NEd"},
		{"append ignores the offset", fxfWrite | fxfAppend, "+", fxOK, "old+"},
		{"creat", fxfWrite | fxfCreat, "c", fxOK, "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if tc.name != "missing without creat" && tc.name != "creat" {
				writeFile(t, p, "old")
			}
			h, code := c.handle(fxpOpen, p, tc.pflags, attrs{})
			if code != tc.code {
				t.Fatalf("open: status %d, want %d", code, tc.code)
			}
			if code != fxOK {
				if _, err := os.Stat(p); err == nil && tc.want == "" {
					t.Errorf("a failed open created %s", p)
				}
				return
			}
			c.mustOK(fxpWrite, h, uint64(0), tc.write)
			c.mustOK(fxpClose, h)
			if got := readFile(t, p); got != tc.want {
				t.Errorf("content %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStatLstatSetstat(t *testing.T) {
	dir := t.TempDir()
	c := newClient(t, dir)
	writeFile(t, filepath.Join(dir, "f"), "0123456789")
	if err := os.Symlink("f", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ  byte
		name string
		mode uint32
		code uint32
	}{
		{fxpStat, "l", unix.S_IFREG, fxOK},
		{fxpLstat, "l", unix.S_IFLNK, fxOK},
		{fxpStat, ".", unix.S_IFDIR, fxOK},
		{fxpStat, "missing", 0, fxNoSuchFile},
		{fxpStat, "f/below-a-file", 0, fxNoSuchFile},
	} {
		a, code := c.attrs(tc.typ, tc.name)
		if code != tc.code || (code == fxOK && a.perm&unix.S_IFMT != tc.mode) {
			t.Errorf("stat %d %q: mode %o status %d, want type %o status %d", tc.typ, tc.name, a.perm, code, tc.mode, tc.code)
		}
	}

	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	set := attrs{flags: attrSize | attrPermissions | attrACModTime | attrUIDGID,
		size: 4, perm: 0o640, atime: uint32(mtime.Unix()), mtime: uint32(mtime.Unix()),
		uid: uint32(os.Getuid()), gid: uint32(os.Getgid())}
	c.mustOK(fxpSetstat, "f", set)
	check := func(what, p string) {
		t.Helper()
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != 4 || st.Mode().Perm() != 0o640 || !st.ModTime().Equal(mtime) {
			t.Errorf("%s: size %d mode %v mtime %v", what, st.Size(), st.Mode(), st.ModTime())
		}
	}
	check("setstat", filepath.Join(dir, "f"))

	writeFile(t, filepath.Join(dir, "g"), "0123456789")
	h := c.mustHandle(fxpOpen, "g", uint32(fxfWrite), attrs{})
	c.mustOK(fxpFsetstat, h, set)
	c.mustOK(fxpClose, h)
	check("fsetstat", filepath.Join(dir, "g"))

	if code := c.status(fxpSetstat, "missing", set); code != fxNoSuchFile {
		t.Errorf("setstat of a missing file: status %d", code)
	}
}

func TestReaddir(t *testing.T) {
	dir := t.TempDir()
	c := newClient(t, dir)
	want := []string{".", ".."}
	for i := range 250 { // more than one batch
		name := "file" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		writeFile(t, filepath.Join(dir, name), strings.Repeat("y", i))
		want = append(want, name)
	}
	mtime := time.Now().Add(-400 * 24 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "filea"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	h := c.mustHandle(fxpOpendir, ".", attrs{})
	var got []string
	longs := map[string]nameEntry{}
	for {
		ents, code := c.names(fxpReaddir, h)
		if code == fxEOF {
			break
		}
		if code != fxOK {
			t.Fatalf("readdir: status %d", code)
		}
		for _, e := range ents {
			got = append(got, e.name)
			longs[e.name] = e
		}
	}
	c.mustOK(fxpClose, h)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("readdir names:\n%v\nwant\n%v", got, want)
	}
	e := longs["fileb"]
	if e.a.size != 1 || e.a.perm&unix.S_IFMT != unix.S_IFREG {
		t.Errorf("fileb attrs %+v", e.a)
	}
	for name, re := range map[string]string{
		"fileb": `^-rw-r--r--    1 \S+ +\S+ +1 [A-Z][a-z]{2} [ 123]\d \d\d:\d\d fileb$`,
		"filea": `^-rw-r--r--    1 \S+ +\S+ +0 [A-Z][a-z]{2} [ 123]\d  \d{4} filea$`,
		".":     `^d[-rwx]{9} +\d+ \S+ +\S+ +\d+ .* \.$`,
	} {
		if !regexp.MustCompile(re).MatchString(longs[name].long) {
			t.Errorf("longname %q does not match %s", longs[name].long, re)
		}
	}
	if _, code := c.handle(fxpOpendir, "fileb"); code != fxNoSuchFile {
		t.Errorf("opendir of a file: status %d, want NO_SUCH_FILE (ENOTDIR)", code)
	}
}

func TestStrmode(t *testing.T) {
	for _, tc := range []struct {
		mode uint32
		want string
	}{
		{unix.S_IFREG | 0o644, "-rw-r--r-- "},
		{unix.S_IFDIR | 0o1777, "drwxrwxrwt "},
		{unix.S_IFDIR | 0o1776, "drwxrwxrwT "},
		{unix.S_IFREG | 0o4755, "-rwsr-xr-x "},
		{unix.S_IFREG | 0o6644, "-rwSr-Sr-- "},
		{unix.S_IFLNK | 0o777, "lrwxrwxrwx "},
		{unix.S_IFIFO | 0o600, "prw------- "},
		{unix.S_IFSOCK | 0o755, "srwxr-xr-x "},
		{unix.S_IFCHR | 0o666, "crw-rw-rw- "},
		{unix.S_IFBLK | 0o660, "brw-rw---- "},
	} {
		if got := strmode(tc.mode); got != tc.want {
			t.Errorf("strmode(%o) = %q, want %q", tc.mode, got, tc.want)
		}
	}
}

func TestDirectoriesAndRemove(t *testing.T) {
	dir := t.TempDir()
	c := newClient(t, dir)
	c.mustOK(fxpMkdir, "d", attrs{flags: attrPermissions, perm: 0o700})
	if st, err := os.Stat(filepath.Join(dir, "d")); err != nil || st.Mode().Perm() != 0o700 || !st.IsDir() {
		t.Fatalf("mkdir: %v %v", st, err)
	}
	writeFile(t, filepath.Join(dir, "d", "f"), "x")
	for _, tc := range []struct {
		typ  byte
		name string
		code uint32
	}{
		{fxpMkdir, "d", fxFailure},  // EEXIST
		{fxpRmdir, "d", fxFailure},  // ENOTEMPTY
		{fxpRemove, "d", fxFailure}, // EISDIR
		{fxpRemove, "missing", fxNoSuchFile},
		{fxpRemove, "d/f", fxOK},
		{fxpRmdir, "d", fxOK},
		{fxpRmdir, "d", fxNoSuchFile},
	} {
		var code uint32
		if tc.typ == fxpMkdir {
			code = c.status(tc.typ, tc.name, attrs{})
		} else {
			code = c.status(tc.typ, tc.name)
		}
		if code != tc.code {
			t.Errorf("request %d %q: status %d, want %d", tc.typ, tc.name, code, tc.code)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "d")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("d still exists: %v", err)
	}
}

func TestRealpath(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, want string
		code     uint32
	}{
		{".", dir, fxOK},
		{"", dir, fxOK},
		{"sub/../sub/", dir + "/sub", fxOK},
		{"link", dir + "/sub", fxOK},
		{"link/new", dir + "/sub/new", fxOK},
		{"missing", dir + "/missing", fxOK},
		{"/", "/", fxOK},
		{"missing/deeper", "", fxNoSuchFile},
	} {
		got, code := c.names(fxpRealpath, tc.in)
		if code != tc.code || (code == fxOK && (len(got) != 1 || got[0].name != tc.want)) {
			t.Errorf("realpath %q: %v status %d, want %q status %d", tc.in, got, code, tc.want, tc.code)
		}
	}
}

func TestRenameLinks(t *testing.T) {
	dir := t.TempDir()
	c := newClient(t, dir)
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFile(t, p("a"), "A")
	writeFile(t, p("b"), "B")
	if code := c.status(fxpRename, "a", "b"); code != fxFailure {
		t.Errorf("rename onto an existing file: status %d, want FAILURE", code)
	}
	if readFile(t, p("a")) != "A" || readFile(t, p("b")) != "B" {
		t.Error("a failed rename changed the files")
	}
	c.mustOK(fxpRename, "a", "c")
	if _, err := os.Stat(p("a")); err == nil || readFile(t, p("c")) != "A" {
		t.Error("rename a to c did not move the file")
	}
	for _, d := range []string{"d1", "d2"} {
		if err := os.Mkdir(p(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if code := c.status(fxpRename, "d1", "d2"); code != fxFailure {
		t.Errorf("rename a directory onto an existing one: status %d, want FAILURE", code)
	}
	c.mustOK(fxpRename, "d1", "d3")

	c.mustOK(fxpExtended, "posix-rename@openssh.com", "c", "b")
	if readFile(t, p("b")) != "A" {
		t.Error("posix-rename did not replace b")
	}

	// OpenSSH's order: target first, then the link to create.
	c.mustOK(fxpSymlink, "b", "sym")
	if target, err := os.Readlink(p("sym")); err != nil || target != "b" {
		t.Errorf("symlink: %q %v, want a link to b", target, err)
	}
	got, code := c.names(fxpReadlink, "sym")
	if code != fxOK || len(got) != 1 || got[0].name != "b" {
		t.Errorf("readlink: %v %d", got, code)
	}
	if _, code := c.names(fxpReadlink, "b"); code != fxBadMessage {
		t.Errorf("readlink of a file: status %d, want BAD_MESSAGE (EINVAL)", code)
	}

	c.mustOK(fxpExtended, "hardlink@openssh.com", "b", "hard")
	var st1, st2 unix.Stat_t
	if unix.Stat(p("b"), &st1) != nil || unix.Stat(p("hard"), &st2) != nil || st1.Ino != st2.Ino {
		t.Error("hardlink did not link b")
	}
	// Directories cannot be hard-linked: EPERM, which maps to PERMISSION_DENIED.
	if code := c.status(fxpExtended, "hardlink@openssh.com", "d2", "dirlink"); code != fxPermissionDenied {
		t.Errorf("hardlink of a directory: status %d, want PERMISSION_DENIED", code)
	}
}

func TestExtensions(t *testing.T) {
	dir := t.TempDir()
	c := newClient(t, dir)
	rt, d := c.call(fxpExtended, "statvfs@openssh.com", ".")
	var vfs [11]uint64
	for i := range vfs {
		vfs[i] = d.uint64()
	}
	var want unix.Statfs_t
	if err := unix.Statfs(dir, &want); err != nil {
		t.Fatal(err)
	}
	if rt != fxpExtendedReply || d.err != nil || vfs[0] != uint64(want.Bsize) || vfs[2] != want.Blocks {
		t.Errorf("statvfs: type %d %v %v, want bsize %d blocks %d", rt, vfs, d.err, want.Bsize, want.Blocks)
	}
	h := c.mustHandle(fxpOpen, "f", uint32(fxfWrite|fxfCreat), attrs{})
	c.mustOK(fxpExtended, "fsync@openssh.com", h)
	rt, d = c.call(fxpExtended, "fstatvfs@openssh.com", h)
	if rt != fxpExtendedReply || d.uint64() != uint64(want.Bsize) {
		t.Errorf("fstatvfs: type %d", rt)
	}
	rt, d = c.call(fxpExtended, "limits@openssh.com")
	if rt != fxpExtendedReply || d.uint64() != MaxPacket || d.uint64() != maxRead || d.uint64() != maxRead || d.uint64() != DefaultMaxHandles {
		t.Errorf("limits: type %d", rt)
	}
	if code := c.status(fxpExtended, "nonesuch@example.com", "x"); code != fxOpUnsupported {
		t.Errorf("unknown extension: status %d", code)
	}
	if code := c.status(99, "x"); code != fxOpUnsupported {
		t.Errorf("unknown request type: status %d", code)
	}
}

func TestBadHandles(t *testing.T) {
	dir := t.TempDir()
	c := newClient(t, dir)
	fh := c.mustHandle(fxpOpen, "f", uint32(fxfWrite|fxfCreat), attrs{})
	dh := c.mustHandle(fxpOpendir, ".")
	for _, tc := range []struct {
		name   string
		typ    byte
		fields []any
	}{
		{"read of a directory handle", fxpRead, []any{dh, uint64(0), uint32(1)}},
		{"write of an unknown handle", fxpWrite, []any{"nope", uint64(0), "x"}},
		{"readdir of a file handle", fxpReaddir, []any{fh}},
		{"fstat of an empty handle", fxpFstat, []any{""}},
		{"fsetstat of a long handle", fxpFsetstat, []any{fh + fh, attrs{}}},
		{"fsync of a directory", fxpExtended, []any{"fsync@openssh.com", dh}},
	} {
		if code := c.status(tc.typ, tc.fields...); code != fxFailure {
			t.Errorf("%s: status %d, want FAILURE", tc.name, code)
		}
	}
}

func TestHandleTableIsBounded(t *testing.T) {
	dir := t.TempDir()
	c := startServer(t, Config{Dir: dir, MaxHandles: 2})
	c.send(fxpInit, uint32(3))
	c.recv()
	h1 := c.mustHandle(fxpOpendir, ".")
	c.mustHandle(fxpOpen, "f", uint32(fxfWrite|fxfCreat), attrs{})
	if _, code := c.handle(fxpOpendir, "."); code != fxFailure {
		t.Fatalf("third handle: status %d, want FAILURE", code)
	}
	c.mustOK(fxpClose, h1)
	c.mustHandle(fxpOpendir, ".")
}

func TestRelativePathsUseDir(t *testing.T) {
	dir := t.TempDir()
	c := newClient(t, dir)
	c.mustOK(fxpMkdir, "made-here", attrs{})
	if _, err := os.Stat(filepath.Join(dir, "made-here")); err != nil {
		t.Fatalf("relative mkdir did not land in Dir: %v", err)
	}
}

func TestMalformedPacketsEndTheSession(t *testing.T) {
	packet := func(body ...byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
	}
	init := packet(fxpInit, 0, 0, 0, 3)
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"first packet not INIT", packet(fxpStat, 0, 0, 0, 1, 0, 0, 0, 1, '.')},
		{"INIT without version", packet(fxpInit)},
		{"zero length", append(init, 0, 0, 0, 0)},
		{"too long", append(init, binary.BigEndian.AppendUint32(nil, MaxPacket+1)...)},
		{"huge length", append(init, 0xff, 0xff, 0xff, 0xff)},
		{"truncated length", append(init, 0, 0)},
		{"truncated body", append(init, 0, 0, 0, 9, fxpStat, 0)},
		{"no id", append(init, packet(fxpStat)...)},
		{"string longer than the packet", append(init, packet(fxpStat, 0, 0, 0, 1, 0, 0, 1, 0, 'x')...)},
		{"open without attrs", append(init, packet(encode([]byte{fxpOpen}, uint32(1), "f", uint32(fxfRead))...)...)},
		{"attrs cut in the size", append(init, packet(encode([]byte{fxpSetstat}, uint32(1), "f", uint32(attrSize), uint32(0))...)...)},
		{"endless extended attrs", append(init, packet(encode([]byte{fxpSetstat}, uint32(1), "f", uint32(attrExtended), uint32(0xffffffff), "a", "b")...)...)},
		{"extended without name", append(init, packet(fxpExtended, 0, 0, 0, 1)...)},
		{"rename with one path", append(init, packet(encode([]byte{fxpRename}, uint32(1), "a")...)...)},
		{"second INIT", append(init, init...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startServer(t, Config{Dir: t.TempDir()})
			go func() {
				c.w.Write(tc.raw) // fails when the server stops reading before the end
				c.w.Close()
			}()
			err := c.wait()
			if !errors.Is(err, ErrBadPacket) {
				t.Errorf("Serve returned %v, want ErrBadPacket", err)
			}
		})
	}
}
