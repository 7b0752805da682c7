package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PartialMaxAge is how long an abandoned partial file waits for a transfer to resume it before
// Reap removes it.
const PartialMaxAge = 7 * 24 * time.Hour

// Reap removes the temporary files in dir whose writers are gone (their lock is free), and
// partial files abandoned for longer than PartialMaxAge. It returns the paths removed; files it
// may not open or remove (another account's) are left alone.
func Reap(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, name := range names {
		partial := strings.HasPrefix(name, PartialPrefix)
		if !partial && !strings.HasPrefix(name, TempPrefix) {
			continue
		}
		p := filepath.Join(dir, name)
		if reapOne(p, partial) {
			removed = append(removed, p)
		}
	}
	return removed, nil
}

// reapOne removes p if nobody holds its lock (and, for a partial file, it is old enough). The
// lock is taken before the check that p still names the file locked, so a writer that just
// created p (and will lock it next) loses nothing: it sees its file unlinked and makes another.
func reapOne(p string, partial bool) bool {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false // its writer lives
	}
	var held, named unix.Stat_t
	if unix.Fstat(fd, &held) != nil || unix.Lstat(p, &named) != nil || held.Ino != named.Ino || held.Dev != named.Dev {
		return false
	}
	if held.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	if partial && time.Since(time.Unix(named.Mtim.Unix())) < PartialMaxAge {
		return false
	}
	return unix.Unlink(p) == nil
}

// futimens sets an open file's times; utimensat with a NULL path is how glibc does it, and
// needs no /proc.
func futimens(fd int, ts []unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
