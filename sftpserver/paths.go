package sftpserver

import (
	"errors"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// realpath canonicalises a path as sftp-server does: relative to the session's directory, ""
// meaning ".", symlinks resolved, and a last component that does not exist allowed (clients
// canonicalise upload targets before creating them).
func (s *server) realpath(id uint32, d *decoder) error {
	name := d.string()
	if d.err != nil {
		return d.err
	}
	p, err := s.canonical(name)
	if err != nil {
		s.sendStatus(id, err)
		return nil
	}
	s.sendName(id, p)
	return nil
}

func (s *server) canonical(name string) (string, error) {
	if name == "" {
		name = "."
	}
	abs, err := filepath.Abs(s.path(name))
	if err != nil {
		return "", err
	}
	p, err := filepath.EvalSymlinks(abs)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return p, err
	}
	parent, last := filepath.Split(abs)
	p, perr := filepath.EvalSymlinks(parent)
	if perr != nil {
		return "", err
	}
	return filepath.Join(p, last), nil
}

// renameNoReplace renames as SFTP version 3 and sftp-server do: it fails if newpath exists.
// For regular files link+unlink makes that atomic; elsewhere, or on file systems without hard
// links, it checks and renames, which races as sftp-server's does.
func renameNoReplace(oldpath, newpath string) error {
	var st unix.Stat_t
	if err := unix.Lstat(oldpath, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		err := unix.Link(oldpath, newpath)
		switch {
		case err == nil:
			if err := unix.Unlink(oldpath); err != nil {
				unix.Unlink(newpath)
				return err
			}
			return nil
		case !noHardLinks(err):
			return err
		}
	}
	if err := unix.Stat(newpath, &st); err == nil {
		return unix.EEXIST
	}
	return unix.Rename(oldpath, newpath)
}

// noHardLinks reports a link(2) error that means the file system cannot link, as sftp-server
// checks (Linux says EPERM for that).
func noHardLinks(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) ||
		errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EPERM)
}
