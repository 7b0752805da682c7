package sftpserver

import (
	"errors"
	"os"
	"path/filepath"
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

// replaces says whether an open with pflags replaces the content of the file at p.
func replaces(pflags uint32, p string) bool {
	if pflags&fxfWrite == 0 || pflags&fxfAppend != 0 {
		return false
	}
	if pflags&fxfTrunc != 0 {
		return true
	}
	if pflags&fxfCreat == 0 {
		return false
	}
	// O_CREAT alone keeps an existing file's content: only a new file is written whole.
	_, err := os.Stat(p)
	return errors.Is(err, os.ErrNotExist)
}

// openAtomic starts a replacement of p. An error wrapping atomicfile.ErrNotReplaceable means
// the caller should open p in place.
func (s *server) openAtomic(p string, pflags, mode uint32) (*handle, error) {
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
	return &handle{fd: af.Fd(), af: af}, nil
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
func atomicSetter(af *atomicfile.File) setter {
	fd := af.Fd()
	return setter{
		truncate: func(size int64) error { return unix.Ftruncate(fd, size) },
		chmod:    af.Chmod,
		utimes: func(ts []unix.Timespec) error {
			af.Chtimes(time.Unix(ts[0].Unix()), time.Unix(ts[1].Unix()))
			return futimens(fd, ts)
		},
		chown: af.Chown,
	}
}
