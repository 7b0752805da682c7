package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

var errAlreadyServing = errors.New("daemon: another daemon is serving")

// socketLock serialises daemons on one socket path: the check for a live daemon plus listen,
// and the removal of the socket at exit, so that a daemon starting while another exits can never
// have its fresh socket removed, and two daemons started at once cannot both serve.
type socketLock struct{ path string }

func (l socketLock) do(f func() error) error {
	lock, err := os.OpenFile(l.path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	defer lock.Close() // releases the lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("daemon: lock %s: %w", l.path, err)
	}
	return f()
}

// listener is the daemon's socket; close removes the socket file if it is still ours.
type listener struct {
	*net.UnixListener
	path string
	lock socketLock
	file os.FileInfo
}

// listen makes the socket's private directory and listens, unless a daemon already answers.
func listen(path string) (*listener, error) {
	if err := privateDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	l := &listener{path: path, lock: socketLock{path + ".lock"}}
	err := l.lock.do(func() error {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return errAlreadyServing
		}
		os.Remove(path) // stale: nothing answers there
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			return fmt.Errorf("daemon: listen: %w", err)
		}
		ln.SetUnlinkOnClose(false)
		l.UnixListener = ln
		if err := os.Chmod(path, 0o600); err != nil {
			ln.Close()
			return fmt.Errorf("daemon: %w", err)
		}
		l.file, err = os.Stat(path)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (l *listener) close() {
	l.lock.do(func() error {
		if fi, err := os.Stat(l.path); err == nil && os.SameFile(fi, l.file) {
			os.Remove(l.path)
		}
		return l.UnixListener.Close()
	})
}

// privateDir makes dir with mode 0700, or checks that an existing one is ours and private. It
// never changes an existing directory: one that others may enter (a shared /tmp named in
// MITOGEN_SOCKET, say) is refused, not chmodded out from under its other users.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir() || !ok:
		return fmt.Errorf("daemon: socket directory %s is not a directory", dir)
	case int(st.Uid) != os.Getuid():
		return fmt.Errorf("daemon: socket directory %s belongs to uid %d, not %d", dir, st.Uid, os.Getuid())
	case st.Mode&0o7077 != 0:
		return fmt.Errorf("daemon: socket directory %s has mode %04o; it must be private to its owner (0700): choose another MITOGEN_SOCKET", dir, st.Mode&0o7777)
	}
	return nil
}

// peerUID reads the connecting process's credentials from the kernel (SO_PEERCRED).
func peerUID(c *net.UnixConn) (uid, pid int, err error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, -1, err
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return -1, -1, err
	}
	if cerr != nil {
		return -1, -1, fmt.Errorf("daemon: SO_PEERCRED: %w", cerr)
	}
	return int(cred.Uid), int(cred.Pid), nil
}
