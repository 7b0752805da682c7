// Package fdlimit raises the process's soft limit on open files (RLIMIT_NOFILE) to its hard
// limit, as servers do at start: a daemon holding a fleet keeps a socket (or a ProxyCommand's
// pipes) per connection, and the soft limit of 1024 many systems set would cap it there. It
// does nothing else; programs the process starts get the limit it was started with back (the
// Go runtime restores it for them), so a select()-based ProxyCommand is not handed descriptors
// it cannot use.
package fdlimit

import (
	"fmt"
	"syscall"
)

// Raise sets the soft limit to the hard limit, when it is lower, and returns the limits in
// force after it.
func Raise() (soft, hard uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, fmt.Errorf("fdlimit: getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		raised := syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			return lim.Cur, lim.Max, fmt.Errorf("fdlimit: setrlimit %d: %w", lim.Max, err)
		}
		lim = raised
	}
	return lim.Cur, lim.Max, nil
}
