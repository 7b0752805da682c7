// Package atomicfile replaces a file so that whoever opens it sees the old content or the new,
// never a mix, and so that a kill or a crash leaves one or the other: the new content goes to a
// hidden temporary file in the destination's directory, which is given its mode, owner and times
// on the descriptor, synced, and renamed over the destination; the directory is synced after.
//
// Temporary files are named TempPrefix followed by random hex (hidden, and matching no glob a
// user writes for their own files, such as *.conf) and are held under flock(2) while their
// writer lives, so that Reap can tell an abandoned one from one being written, whatever process,
// account or PID namespace wrote it. A resumable transfer writes to a partial file instead
// (PartialPrefix), which outlives its writer on purpose.
//
// It is not a copier: it knows nothing of sources, checksums or the network. Linux only.
package atomicfile

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Names of the files this package leaves in a destination's directory while it writes.
const (
	TempPrefix    = ".mitogen-tmp-"
	PartialPrefix = ".mitogen-part-"
)

// ErrNotReplaceable says the destination cannot be replaced by a rename though it might be
// written in place: it is not a regular file (a device, a FIFO), its directory does not let us
// create a file, or its owner could not be given to the new file. Callers that stand in for a
// plain open(2) (SFTP, scp) then write in place, as sftp-server would; the error wraps the
// system's reason.
var ErrNotReplaceable = errors.New("atomicfile: cannot replace atomically")

// Options say how Create treats the destination.
type Options struct {
	// Perm is a new file's mode, as open(2)'s (the umask applies). An existing file's mode and
	// owner are kept.
	Perm uint32
	// Exclusive fails when the destination exists, at Create and again at Commit (O_EXCL).
	Exclusive bool
	// MustExist fails when the destination does not exist (O_TRUNC without O_CREAT).
	MustExist bool
	// Partial writes to the destination's partial file, keeping what it holds (see Resume) and
	// leaving it in place on Abort, so that a later transfer can go on from there.
	Partial bool
	// DeferDirSync leaves the directory's fsync to the caller (SyncDir), who may sync it once
	// for many files: the rename is then atomic at once and durable after that sync (a crash
	// before it leaves the old file and a temporary file for Reap).
	DeferDirSync bool
	// Trace, if set, is told every step that changes the file system, in order ("create",
	// "fchown", "fchmod", "futimens", "fsync", "rename", "fsync-dir", "unlink"), with the path.
	Trace func(step, path string)
}

// File is a replacement being written. Its methods are not safe for concurrent use.
type File struct {
	f         *os.File
	rawfd     int
	dest      string // the final path, symlinks resolved
	temp      string
	existed   bool
	noReplace bool
	mode      uint32 // the mode Commit leaves (writes by others than root clear set-id bits)
	times     []unix.Timespec
	trace     func(step, path string)
	deferDir  bool
	done      bool
}

// Create starts replacing dest (a symlink is followed to the file it names). The destination is
// untouched until Commit.
func Create(dest string, o Options) (*File, error) {
	real, err := Resolve(dest)
	if err != nil {
		return nil, err
	}
	af := &File{dest: real, trace: o.Trace, noReplace: o.Exclusive, deferDir: o.DeferDirSync}
	if af.trace == nil {
		af.trace = func(string, string) {}
	}
	var old unix.Stat_t
	switch err := unix.Stat(real, &old); {
	case err == nil:
		if err := replaceable(real, &old, o); err != nil {
			return nil, err
		}
		af.existed = true
	case errors.Is(err, unix.ENOENT) && !o.MustExist:
	default:
		return nil, pathErr("open", real, err)
	}
	perm := o.Perm & 0o777
	if af.existed {
		perm = old.Mode & 0o777
	}
	if err := af.openTemp(perm, o.Partial); err != nil {
		return nil, err
	}
	if err := af.adopt(&old); err != nil {
		af.Abort()
		return nil, err
	}
	return af, nil
}

// replaceable checks an existing destination as open(2) for writing would, and whether a rename
// can stand in for that open.
func replaceable(p string, st *unix.Stat_t, o Options) error {
	switch {
	case o.Exclusive:
		return pathErr("open", p, unix.EEXIST)
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return pathErr("open", p, unix.EISDIR)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("%w: %s is not a regular file", ErrNotReplaceable, p)
	}
	// A file we may not write stays as it is, as open(O_WRONLY) would leave it, though its
	// directory would let a rename replace it.
	if err := unix.Faccessat(unix.AT_FDCWD, p, unix.W_OK, unix.AT_EACCESS); err != nil {
		return pathErr("open", p, err)
	}
	return nil
}

// openTemp creates and locks the temporary (or partial) file beside the destination.
func (af *File) openTemp(perm uint32, partial bool) error {
	dir, base := filepath.Split(af.dest)
	for try := 0; try < 100; try++ {
		name := TempPrefix + randomHex()
		flags := os.O_RDWR | os.O_CREATE | os.O_EXCL
		if partial {
			name, flags = PartialName(base), os.O_RDWR|os.O_CREATE
		}
		temp := filepath.Join(dir, name)
		f, err := os.OpenFile(temp, flags|unix.O_NOFOLLOW, os.FileMode(perm))
		switch {
		case errors.Is(err, os.ErrExist):
			continue
		case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
			return fmt.Errorf("%w: %w", ErrNotReplaceable, err)
		case err != nil:
			return err
		}
		af.trace("create", temp)
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if partial {
				return fmt.Errorf("atomicfile: %s is being written by another transfer", temp)
			}
			continue // Reap took it between our open and our lock; it unlinks it
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Nlink == 0 {
			f.Close()
			continue
		}
		af.f, af.rawfd, af.temp, af.mode = f, int(f.Fd()), temp, st.Mode&0o7777
		return nil
	}
	return fmt.Errorf("atomicfile: no free temporary name in %s", dir)
}

// adopt gives the temporary file the owner and mode of the file it replaces.
func (af *File) adopt(old *unix.Stat_t) error {
	if !af.existed {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(af.fd(), &st); err != nil {
		return err
	}
	if st.Uid != old.Uid || st.Gid != old.Gid {
		af.trace("fchown", af.temp)
		if err := unix.Fchown(af.fd(), int(old.Uid), int(old.Gid)); err != nil {
			return fmt.Errorf("%w: keeping the owner of %s: %w", ErrNotReplaceable, af.dest, err)
		}
	}
	return af.Chmod(old.Mode & 0o7777)
}

func (af *File) fd() int { return af.rawfd }

// Fd is the temporary file's descriptor, for pread and pwrite; it stays open until Commit or
// Abort.
func (af *File) Fd() int { return af.rawfd }

// Dest is the path Commit replaces: the destination with its symlinks resolved.
func (af *File) Dest() string { return af.dest }

// Temp is the file being written.
func (af *File) Temp() string { return af.temp }

// File is the open temporary file, for reads and writes at any offset.
func (af *File) File() *os.File { return af.f }

// Write appends to the temporary file.
func (af *File) Write(p []byte) (int, error) { return af.f.Write(p) }

// Reserve allocates size bytes up front, so that a full disk fails the transfer before it
// starts; file systems that cannot allocate ahead are left to fail on write.
func (af *File) Reserve(size int64) error {
	if size <= 0 {
		return nil
	}
	err := unix.Fallocate(af.fd(), unix.FALLOC_FL_KEEP_SIZE, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return nil
	}
	if err != nil {
		return pathErr("write", af.dest, err)
	}
	return nil
}

// Chmod sets the mode the replacement gets, now and again at Commit (a write by anyone but root
// clears the set-id bits).
func (af *File) Chmod(mode uint32) error {
	af.mode = mode & 0o7777
	af.trace("fchmod", af.temp)
	return unix.Fchmod(af.fd(), af.mode)
}

// Chown sets the replacement's owner (-1 leaves one unchanged).
func (af *File) Chown(uid, gid int) error {
	af.trace("fchown", af.temp)
	if err := unix.Fchown(af.fd(), uid, gid); err != nil {
		return err
	}
	return af.Chmod(af.mode) // chown clears the set-id bits
}

// Chtimes sets the replacement's access and modification times, at Commit, after the last write.
func (af *File) Chtimes(atime, mtime time.Time) {
	af.times = []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
}

// Commit finishes the replacement: times and mode on the descriptor, fsync, rename over the
// destination, fsync of the directory. On failure the destination is untouched and the
// temporary file removed.
func (af *File) Commit() error {
	if af.done {
		return errors.New("atomicfile: commit after the file was finished")
	}
	if err := af.finishAttrs(); err != nil {
		af.Abort()
		return err
	}
	af.trace("fsync", af.temp)
	if err := af.f.Sync(); err != nil {
		af.Abort()
		return pathErr("fsync", af.dest, err)
	}
	af.trace("rename", af.dest)
	if err := af.rename(); err != nil {
		af.Abort()
		return err
	}
	af.done = true
	err := af.f.Close()
	if af.deferDir {
		return err
	}
	if derr := syncDir(filepath.Dir(af.dest), af.trace); err == nil {
		err = derr
	}
	return err
}

// SyncDir makes the renames in dir durable: what Commit does after each rename unless told
// DeferDirSync.
func SyncDir(dir string) error { return syncDir(dir, func(string, string) {}) }

func (af *File) finishAttrs() error {
	if af.times != nil {
		af.trace("futimens", af.temp)
		if err := futimens(af.fd(), af.times); err != nil {
			return pathErr("utimensat", af.dest, err)
		}
	}
	var st unix.Stat_t
	if err := unix.Fstat(af.fd(), &st); err != nil {
		return err
	}
	if st.Mode&0o7777 != af.mode {
		af.trace("fchmod", af.temp)
		return unix.Fchmod(af.fd(), af.mode)
	}
	return nil
}

func (af *File) rename() error {
	if !af.noReplace {
		if err := unix.Rename(af.temp, af.dest); err != nil {
			return pathErr("rename", af.dest, err)
		}
		return nil
	}
	err := unix.Renameat2(unix.AT_FDCWD, af.temp, unix.AT_FDCWD, af.dest, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// No RENAME_NOREPLACE here: a hard link cannot replace either.
		if err = unix.Link(af.temp, af.dest); err == nil {
			err = unix.Unlink(af.temp)
		}
	}
	if err != nil {
		return pathErr("rename", af.dest, err)
	}
	return nil
}

// Abort gives up: the destination stays as it was, the temporary file is removed (a partial
// file is kept for a later transfer to resume).
func (af *File) Abort() error {
	if af.done {
		return nil
	}
	af.done = true
	var err error
	if !strings.HasPrefix(filepath.Base(af.temp), PartialPrefix) {
		af.trace("unlink", af.temp)
		err = os.Remove(af.temp)
	}
	af.f.Close()
	return err
}

// Discard removes a partial file too: the transfer that wrote it will not resume.
func (af *File) Discard() error {
	if af.done {
		return nil
	}
	af.done = true
	af.trace("unlink", af.temp)
	err := os.Remove(af.temp)
	af.f.Close()
	return err
}

// PartialName is the name of the partial file for a destination named base: derived from the
// name (a hash, so that it fits any name length), the same for every transfer to it.
func PartialName(base string) string {
	h := sha256.Sum256([]byte(base))
	return PartialPrefix + hex.EncodeToString(h[:12])
}

// Resolve follows symlinks in p's last component to the file they name, which need not exist (a
// dangling link is written through to its target, as open(2) with O_CREAT does).
func Resolve(p string) (string, error) {
	for hops := 0; ; hops++ {
		if hops > 40 {
			return "", pathErr("open", p, unix.ELOOP)
		}
		target, err := os.Readlink(p)
		if err != nil {
			if errors.Is(err, unix.EINVAL) || errors.Is(err, os.ErrNotExist) {
				return p, nil // not a link
			}
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = target
	}
}

func syncDir(dir string, trace func(string, string)) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	trace("fsync-dir", dir)
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return pathErr("fsync", dir, err)
	}
	return nil
}

func randomHex() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func pathErr(op, p string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return err
	}
	return &os.PathError{Op: op, Path: p, Err: err}
}
