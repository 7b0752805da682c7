// Package rawio reads and writes descriptors with system calls the Go runtime does not see
// as system calls: raw ones, on descriptors that cannot block.
//
// Why: a system call the runtime sees (entersyscall) wakes the runtime's monitor thread,
// sysmon, whenever the process was idle since the last one, and sysmon then ticks every 20 us
// for a while. The daemon receiving bulk data over SSH is idle between nearly every two
// packets, waiting for the next; on this project's two-processor test machine that came to
// some 20,000 context switches per GiB, each taking a processor from sshd or the command, and
// a quarter of the daemon's CPU. A raw call never blocks here: the descriptor is non-blocking,
// and the runtime's poller waits when it has nothing to give.
//
// It is not a general replacement for package net or os: a raw call holds its processor for
// as long as it runs, which only calls that cannot block may do.
package rawio

import (
	"io"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn reads and writes one non-blocking descriptor of the runtime's poller. Read and Write
// may be called concurrently with each other, as on a net.Conn; the descriptor's owner still
// closes it, which ends a Read or Write waiting on the poller.
type Conn struct {
	rc syscall.RawConn
}

// New is sc's Conn, or nil when sc is not a non-blocking socket or pipe (a pipe handed over
// blocking, a channel through a jump host, a ProxyCommand's pipes). A file is left out: a
// non-blocking read of one still waits for the disk.
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
	return &Conn{rc}
}

// Read is read(2) of up to len(p) bytes, waiting on the poller while there are none. It
// returns io.EOF at the end.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			m, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			if e == syscall.EINTR {
				continue
			}
			n, errno = int(m), e
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

// Write writes all of p, waiting on the poller while the descriptor is full.
func (c *Conn) Write(p []byte) (int, error) {
	var n int
	var errno syscall.Errno
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n))
			switch e {
			case 0:
				n += int(m)
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

// maxVectors bounds the buffers one WritevNoWait passes: the daemon hands it a channel's
// buffered packets, a few to a dozen.
const maxVectors = 64

// WritevNoWait is pwritev2(fd, bufs, -1, RWF_NOWAIT) as a raw call: it writes what fd takes
// without waiting, at most maxVectors buffers' worth, and returns EAGAIN where it would have
// to wait. Descriptors that cannot honour RWF_NOWAIT (a terminal, a regular file on most
// filesystems) return EOPNOTSUPP, kernels before 4.14 EOPNOTSUPP or ENOSYS: the caller then
// writes as usual, with a system call the runtime sees, which may block.
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

// MustWait reports whether err from WritevNoWait means the caller should write as usual.
func MustWait(err error) bool {
	return err == unix.EAGAIN || err == unix.EOPNOTSUPP || err == unix.EINVAL || err == unix.ENOSYS
}
