//go:build !linux

package emulation

// waitable is a no-op where waitid(WNOWAIT) is not used: Signal may then,
// in a tiny window after exit, reach a recycled process group.
func waitable(pid int) {}
