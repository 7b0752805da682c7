package emulation

import (
	"syscall"
	"unsafe"
)

// waitable blocks until pid has exited without reaping it. Until it is
// reaped the pid, and so the process group Signal addresses, cannot be
// reused, which lets Signal stop before a recycled group gets a signal.
func waitable(pid int) {
	const pPID, wNOWAIT = 1, 0x1000000
	var siginfo [128]byte
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&siginfo)), syscall.WEXITED|wNOWAIT, 0, 0)
		if e != syscall.EINTR {
			return
		}
	}
}
