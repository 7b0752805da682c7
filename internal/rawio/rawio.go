//go:build linux

package rawio

import (
	"io"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn reads and writes one non-blocking socket or pipe of the runtime's poller. Read and
// Write may be called concurrently with each other, as on a net.Conn; the descriptor's owner
// still closes it, which ends a Read or Write waiting on the poller.
type Conn struct {
	rc    syscall.RawConn
	plain atomic.Bool // the kernel refused RWF_NOWAIT here: ordinary calls from now on
}

// New is sc's Conn, or nil when sc is not a non-blocking socket or pipe, which the poller
// waits on (a pipe handed over blocking, a channel through a jump host, a ProxyCommand's
// pipes, a file).
func New(sc any) *Conn {
	s, ok := sc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := s.SyscallConn()
	if err != nil {
		return nil
	}
	ok = false
	err = rc.Control(func(fd uintptr) {
		flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		var st unix.Stat_t
		if err != nil || flags&unix.O_NONBLOCK == 0 || unix.Fstat(int(fd), &st) != nil {
			return
		}
		kind := st.Mode & unix.S_IFMT
		ok = kind == unix.S_IFSOCK || kind == unix.S_IFIFO
	})
	if err != nil || !ok {
		return nil
	}
	return &Conn{rc: rc}
}

// Read reads up to len(p) bytes, waiting on the poller while there are none. It returns
// io.EOF at the end.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			m, e := c.read(int(fd), p)
			if e == syscall.EINTR {
				continue
			}
			n, errno = m, e
			return e != syscall.EAGAIN
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, errno
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *Conn) read(fd int, p []byte) (int, syscall.Errno) {
	if !c.plain.Load() {
		iov := unix.Iovec{Base: &p[0]}
		iov.SetLen(len(p))
		n, _, e := unix.RawSyscall6(unix.SYS_PREADV2, uintptr(fd), uintptr(unsafe.Pointer(&iov)), 1, ^uintptr(0), ^uintptr(0), unix.RWF_NOWAIT)
		if !refused(e) {
			return int(n), e
		}
		c.plain.Store(true)
	}
	n, err := syscall.Read(fd, p)
	return max(n, 0), errnoOf(err)
}

// Write writes all of p, waiting on the poller while the descriptor is full.
func (c *Conn) Write(p []byte) (int, error) {
	var n int
	var errno syscall.Errno
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, e := c.write(int(fd), p[n:])
			switch e {
			case 0:
				n += m
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				errno = e
				return true
			}
		}
		return true
	})
	if err == nil && errno != 0 {
		err = errno
	}
	return n, err
}

func (c *Conn) write(fd int, p []byte) (int, syscall.Errno) {
	if !c.plain.Load() {
		n, err := WritevNoWait(fd, [][]byte{p})
		if !Refused(err) {
			return n, errnoOf(err)
		}
		c.plain.Store(true)
	}
	n, err := syscall.Write(fd, p)
	return max(n, 0), errnoOf(err)
}

// maxVectors bounds the buffers one WritevNoWait passes: the daemon hands it a channel's
// buffered packets, a few to a dozen.
const maxVectors = 64

// WritevNoWait is pwritev2(fd, bufs, -1, RWF_NOWAIT) as a raw call: it writes what fd takes
// without waiting, at most maxVectors buffers' worth, and returns EAGAIN where it would have
// to wait. Where the kernel cannot do it without waiting it returns an error for which
// Refused is true. The caller must not use it on a regular file: with other holders of the
// open file, the kernel may wait for the file position's lock before it reads the flag.
func WritevNoWait(fd int, bufs [][]byte) (int, error) {
	var iov [maxVectors]unix.Iovec
	k := 0
	for _, b := range bufs {
		if k == len(iov) {
			break
		}
		if len(b) == 0 {
			continue
		}
		iov[k].Base = &b[0]
		iov[k].SetLen(len(b))
		k++
	}
	if k == 0 {
		return 0, nil
	}
	// An offset of -1 (both halves) writes at the file's position, as writev(2) does.
	n, _, e := unix.RawSyscall6(unix.SYS_PWRITEV2, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(k), ^uintptr(0), ^uintptr(0), unix.RWF_NOWAIT)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// Refused reports whether err from WritevNoWait means the kernel would not take the call as
// made (the descriptor cannot honour RWF_NOWAIT, an older kernel, a seccomp filter): the
// ordinary call is to be made instead, and reports the error that stands, if any.
func Refused(err error) bool {
	e, ok := err.(syscall.Errno)
	return ok && refused(e)
}

func refused(e syscall.Errno) bool {
	return e == unix.EOPNOTSUPP || e == unix.EINVAL || e == unix.ENOSYS || e == unix.EPERM
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}
