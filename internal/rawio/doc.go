// Package rawio reads and writes descriptors with system calls the Go runtime does not see
// as system calls: raw ones, flagged RWF_NOWAIT so that they cannot wait whatever the
// descriptor's flags say.
//
// Why: a system call the runtime sees (entersyscall) wakes the runtime's monitor thread,
// sysmon, whenever the process was idle since the last one, and sysmon then ticks every 20 us
// for a while. The daemon receiving bulk data over SSH is idle between nearly every two
// packets, waiting for the next; on this project's two-processor test machine that came to
// some 20,000 context switches per GiB, each taking a processor from sshd or the command, and
// a quarter of the daemon's CPU.
//
// A raw call holds its processor for as long as it runs, so it must never wait: RWF_NOWAIT
// makes the kernel return EAGAIN instead (a flag of the call, not of the open file, which the
// daemon may share with the caller, who can clear O_NONBLOCK at any time). Where the kernel
// cannot honour the flag (a terminal, a regular file on most filesystems, a kernel before
// 4.14, a seccomp filter) the calls fall back to ordinary ones, which the runtime sees.
//
// It is not a general replacement for package net or os, and does nothing on systems other
// than Linux: New returns nil there and WritevNoWait ENOSYS.
package rawio
