package sftpserver

import (
	"errors"
	"os"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// handle serves one request packet. Replies are queued in s.out; a returned error ends the
// session, and happens only for malformed packets.
func (s *server) handle(typ byte, d *decoder) error {
	if typ == fxpInit {
		return badPacket("INIT after the session started")
	}
	id := d.uint32()
	if d.err != nil {
		return d.err
	}
	switch typ {
	case fxpOpen:
		return s.open(id, d)
	case fxpClose:
		return s.close(id, d)
	case fxpRead:
		return s.read(id, d)
	case fxpWrite:
		return s.write(id, d)
	case fxpLstat:
		return s.stat(id, d, unix.Lstat)
	case fxpStat:
		return s.stat(id, d, unix.Stat)
	case fxpFstat:
		return s.fstat(id, d)
	case fxpSetstat:
		return s.setstat(id, d)
	case fxpFsetstat:
		return s.fsetstat(id, d)
	case fxpOpendir:
		return s.opendir(id, d)
	case fxpReaddir:
		return s.readdir(id, d)
	case fxpRemove:
		return s.onePath(id, d, unix.Unlink)
	case fxpRmdir:
		return s.onePath(id, d, unix.Rmdir)
	case fxpMkdir:
		return s.mkdir(id, d)
	case fxpRealpath:
		return s.realpath(id, d)
	case fxpRename:
		return s.twoPaths(id, d, s.path, renameNoReplace)
	case fxpReadlink:
		return s.readlink(id, d)
	case fxpSymlink:
		// OpenSSH sends the target first and the link second, the reverse of the draft, and
		// every client follows OpenSSH. The target is stored as sent, not made absolute.
		return s.twoPaths(id, d, func(p string) string { return p }, unix.Symlink)
	case fxpExtended:
		return s.extended(id, d)
	}
	s.sendCode(id, fxOpUnsupported)
	return nil
}

// openFlags maps SFTP pflags to open(2) flags as sftp-server's flags_from_portable does.
func openFlags(pflags uint32) int {
	var flags int
	switch {
	case pflags&fxfRead != 0 && pflags&fxfWrite != 0:
		flags = unix.O_RDWR
	case pflags&fxfWrite != 0:
		flags = unix.O_WRONLY
	default:
		flags = unix.O_RDONLY
	}
	for _, f := range []struct {
		pflag uint32
		flag  int
	}{{fxfAppend, unix.O_APPEND}, {fxfCreat, unix.O_CREAT}, {fxfTrunc, unix.O_TRUNC}, {fxfExcl, unix.O_EXCL}} {
		if pflags&f.pflag != 0 {
			flags |= f.flag
		}
	}
	return flags
}

func (s *server) open(id uint32, d *decoder) error {
	name, pflags, a := d.string(), d.uint32(), d.attrs()
	if d.err != nil {
		return d.err
	}
	mode := uint32(0o666)
	if a.flags&attrPermissions != 0 {
		mode = a.perm & 0o7777
	}
	p := s.path(name)
	if replace, patch := replaces(pflags, p); replace {
		h, err := s.openAtomic(p, pflags, mode, patch)
		if err == nil {
			s.addHandle(id, h)
			return nil
		}
		if !errors.Is(err, atomicfile.ErrNotReplaceable) {
			s.sendStatus(id, err)
			return nil
		}
	}
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Open(p, openFlags(pflags)|unix.O_CLOEXEC|unix.O_NOCTTY, mode)
		return err
	})
	if err != nil {
		s.sendStatus(id, err)
		return nil
	}
	s.addHandle(id, &handle{fd: fd})
	return nil
}

func (s *server) addHandle(id uint32, h *handle) {
	hs, err := s.handles.add(h)
	if err != nil {
		h.abandon()
		s.sendCode(id, fxFailure)
		return
	}
	s.sendHandle(id, hs)
}

func (s *server) close(id uint32, d *decoder) error {
	hs := d.bytes()
	if d.err != nil {
		return d.err
	}
	h := s.handles.remove(hs)
	if h == nil {
		s.sendCode(id, fxFailure)
		return nil
	}
	s.sendStatus(id, h.close())
	return nil
}

func (s *server) read(id uint32, d *decoder) error {
	hs, off, n := d.bytes(), d.uint64(), d.uint32()
	if d.err != nil {
		return d.err
	}
	h := s.fileOrFail(id, hs)
	if h == nil {
		return nil
	}
	n = min(n, maxRead)
	if cap(s.data) < int(n) {
		s.data = make([]byte, maxRead)
	}
	buf := s.data[:n]
	var got int
	err := retry(func() (err error) {
		got, err = unix.Pread(h.fd, buf, int64(off))
		return err
	})
	switch {
	case err != nil:
		s.sendStatus(id, err)
	case got == 0:
		s.sendCode(id, fxEOF)
	default:
		s.begin(fxpData, id)
		s.out = appendBytes(s.out, buf[:got])
	}
	return nil
}

var errShortWrite = errors.New("sftpserver: write wrote nothing")

func (s *server) write(id uint32, d *decoder) error {
	hs, off, data := d.bytes(), d.uint64(), d.bytes()
	if d.err != nil {
		return d.err
	}
	h := s.fileOrFail(id, hs)
	if h == nil {
		return nil
	}
	s.sendStatus(id, h.pwriteAll(data, off))
	return nil
}

// pwriteAll writes data at off, keeping the replacement's bookkeeping (see atomic.go); the
// first failure is kept for CLOSE.
func (h *handle) pwriteAll(data []byte, off uint64) error {
	var err error
	for len(data) > 0 && err == nil {
		var n int
		err = retry(func() (err error) {
			n, err = unix.Pwrite(h.fd, data, int64(off))
			return err
		})
		if err == nil && n == 0 {
			err = errShortWrite
		}
		if err != nil {
			break // n is -1: a failed write (ENOSPC, EIO) wrote nothing
		}
		if h.patch != nil {
			h.patch.write(int64(off), int64(n))
		}
		data, off = data[n:], off+uint64(n)
	}
	if err != nil && h.werr == nil {
		h.werr = err
	}
	return err
}

func (s *server) stat(id uint32, d *decoder, stat func(string, *unix.Stat_t) error) error {
	name := d.string()
	if d.err != nil {
		return d.err
	}
	var st unix.Stat_t
	if err := stat(s.path(name), &st); err != nil {
		s.sendStatus(id, err)
		return nil
	}
	s.sendAttrs(id, attrsOf(&st))
	return nil
}

func (s *server) fstat(id uint32, d *decoder) error {
	hs := d.bytes()
	if d.err != nil {
		return d.err
	}
	h := s.fileOrFail(id, hs)
	if h == nil {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(h.fd, &st); err != nil {
		s.sendStatus(id, err)
		return nil
	}
	s.sendAttrs(id, attrsOf(&st))
	return nil
}

func (s *server) setstat(id uint32, d *decoder) error {
	name, a := d.string(), d.attrs()
	if d.err != nil {
		return d.err
	}
	s.sendStatus(id, pathSetter(s.path(name)).apply(a))
	return nil
}

func (s *server) fsetstat(id uint32, d *decoder) error {
	hs, a := d.bytes(), d.attrs()
	if d.err != nil {
		return d.err
	}
	h := s.fileOrFail(id, hs)
	if h == nil {
		return nil
	}
	set := fdSetter(h.fd)
	if h.af != nil {
		set = atomicSetter(h)
	}
	s.sendStatus(id, set.apply(a))
	return nil
}

func (s *server) onePath(id uint32, d *decoder, op func(string) error) error {
	name := d.string()
	if d.err != nil {
		return d.err
	}
	s.sendStatus(id, op(s.path(name)))
	return nil
}

// twoPaths serves a request naming two paths; first says how the first one is resolved.
func (s *server) twoPaths(id uint32, d *decoder, first func(string) string, op func(string, string) error) error {
	a, b := d.string(), d.string()
	if d.err != nil {
		return d.err
	}
	s.sendStatus(id, op(first(a), s.path(b)))
	return nil
}

func (s *server) mkdir(id uint32, d *decoder) error {
	name, a := d.string(), d.attrs()
	if d.err != nil {
		return d.err
	}
	mode := uint32(0o777)
	if a.flags&attrPermissions != 0 {
		mode = a.perm & 0o7777
	}
	s.sendStatus(id, unix.Mkdir(s.path(name), mode))
	return nil
}

func (s *server) readlink(id uint32, d *decoder) error {
	name := d.string()
	if d.err != nil {
		return d.err
	}
	target, err := os.Readlink(s.path(name))
	if err != nil {
		s.sendStatus(id, err)
		return nil
	}
	s.sendName(id, target)
	return nil
}

// retry repeats a system call that a signal interrupted; Go's runtime sends signals to its
// threads, and slow files (FIFOs, network file systems) can report EINTR.
func retry(call func() error) error {
	for {
		if err := call(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
