package main

import (
	"os"
	"strconv"
	"syscall"
)

// closeInheritedOnExec marks every descriptor above stderr close-on-exec. What started us leaves
// some open (stage 0's copy of the stream on fd 4, the unlinked file we may run from, csh's
// copies of 0-2), and every command we run would inherit them, where under sshd a command starts
// with 0-2 alone. Our own descriptors are close-on-exec already.
func closeInheritedOnExec() {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return // no /proc: nothing to learn the descriptors from
	}
	for _, e := range fds {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
