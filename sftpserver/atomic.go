package sftpserver

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// Opens that replace a file's content (O_TRUNC, or O_CREAT of a file that does not exist) write
// to a hidden temporary file beside it, renamed over it when the handle is closed and removed if
// the session ends first: a reader never sees a partial upload, and an interrupted one leaves the
// old file. Where a rename cannot stand in for the open (a device, a directory we may not create
// files in, an owner we cannot give the new file), the file is written in place, as sftp-server
// writes it.

// replaces says whether an open with pflags replaces the content of the file at p; patch says
// the open keeps the old content where the client does not write (O_CREAT or plain O_WRONLY
// on an existing file, as scp's SFTP mode opens, then cuts the file to size with FSETSTAT):
// the replacement is then filled from the old file's unwritten ranges on CLOSE.
func replaces(pflags uint32, p string) (replace, patch bool) {
	if pflags&fxfWrite == 0 || pflags&fxfAppend != 0 {
		return false, false
	}
	if pflags&fxfTrunc != 0 {
		return true, false
	}
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return pflags&fxfCreat != 0, false
	case err != nil || !st.Mode().IsRegular() || pflags&fxfRead != 0:
		return false, false // reads must see the old content: written in place
	}
	return true, true
}

// openAtomic starts a replacement of p. An error wrapping atomicfile.ErrNotReplaceable means
// the caller should open p in place.
func (s *server) openAtomic(p string, pflags, mode uint32, keep bool) (*handle, error) {
	s.reap(filepath.Dir(p))
	af, err := atomicfile.Create(p, atomicfile.Options{
		Perm:      mode,
		Exclusive: pflags&fxfExcl != 0,
		MustExist: pflags&fxfCreat == 0,
		// The directory is synced once when the session ends (syncDirs): a crash before then
		// leaves the old file, never a partial one, since each file is synced before its rename.
		DeferDirSync: true,
	})
	if err != nil {
		return nil, err
	}
	if s.unsynced == nil {
		s.unsynced = map[string]bool{}
	}
	s.unsynced[filepath.Dir(af.Dest())] = true
	h := &handle{fd: af.Fd(), af: af}
	if keep {
		var st unix.Stat_t
		if err := unix.Stat(af.Dest(), &st); err != nil {
			af.Abort()
			return nil, err
		}
		h.patch = &patch{length: st.Size}
	}
	return h, nil
}

// syncDirs makes the session's renames durable.
func (s *server) syncDirs() {
	for dir := range s.unsynced {
		if err := atomicfile.SyncDir(dir); err != nil && s.logf != nil {
			s.logf("sftpserver: %v", err)
		}
	}
	s.unsynced = nil
}

// reap removes the temporary files that killed writers left in dir, once per directory and
// session: the next contact with a directory after a crash cleans it.
func (s *server) reap(dir string) {
	if s.reaped[dir] {
		return
	}
	if s.reaped == nil {
		s.reaped = map[string]bool{}
	}
	s.reaped[dir] = true
	if removed, _ := atomicfile.Reap(dir); len(removed) > 0 && s.logf != nil {
		s.logf("sftpserver: removed %d abandoned temporary files in %s", len(removed), dir)
	}
}

// atomicSetter applies FSETSTAT to a replacement being written: the attributes are the new
// file's, and times are set again after the last write.
func atomicSetter(h *handle) setter {
	af := h.af
	fd := af.Fd()
	return setter{
		truncate: func(size int64) error {
			if h.patch != nil {
				h.patch.truncate(size)
			}
			return unix.Ftruncate(fd, size)
		},
		chmod: af.Chmod,
		utimes: func(ts []unix.Timespec) error {
			af.Chtimes(time.Unix(ts[0].Unix()), time.Unix(ts[1].Unix()))
			return futimens(fd, ts)
		},
		chown: af.Chown,
	}
}

// patch tracks what a client wrote to a replacement that must keep the old content elsewhere.
type patch struct {
	written [][2]int64 // sorted, merged [start, end) ranges
	length  int64      // the file's length as the client sees it
}

func (p *patch) write(off, n int64) {
	end := off + n
	p.length = max(p.length, end)
	out := p.written[:0:0]
	for _, r := range p.written {
		switch {
		case r[1] < off || r[0] > end:
			out = append(out, r)
		default:
			off, end = min(off, r[0]), max(end, r[1])
		}
	}
	out = append(out, [2]int64{off, end})
	slices.SortFunc(out, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	p.written = out
}

func (p *patch) truncate(size int64) {
	p.length = size
	out := p.written[:0]
	for _, r := range p.written {
		if r[0] < size {
			out = append(out, [2]int64{r[0], min(r[1], size)})
		}
	}
	p.written = out
}

// fill copies the old file's bytes into the ranges of fd the client left unwritten, and sets
// the length, so that the replacement holds what writing in place would have left.
func (p *patch) fill(fd int, old string) error {
	src, err := unix.Open(old, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(src)
	if err := unix.Ftruncate(fd, p.length); err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	at := int64(0)
	for _, r := range append(p.written, [2]int64{p.length, p.length}) {
		for at < r[0] {
			n, err := unix.Pread(src, buf[:min(int64(len(buf)), r[0]-at)], at)
			if err != nil {
				return err
			}
			if n == 0 {
				break // the old file was shorter: a hole, as in place
			}
			if _, err := unix.Pwrite(fd, buf[:n], at); err != nil {
				return err
			}
			at += int64(n)
		}
		at = max(at, r[1])
	}
	return nil
}
