// Package gctune sets the Go runtime of this project's binaries for stream throughput: the
// garbage collector, and the processors a relay runs on (LimitProcs), leaving alone whatever the
// user set in GOGC, GOMEMLIMIT or GOMAXPROCS; and it gives the heap back to the system once a
// program goes idle (ReturnWhenIdle). It is not a memory manager or a scheduler: it picks the
// runtime's knobs and when to return free memory, and allocates nothing for the program.
package gctune

import "runtime/debug"

// Set lets the heap grow to five times its live size between collections: the live heap is
// small (windows bound it), and the default collector, running every few MiB of stream data,
// halved stream throughput when measured. memLimit, when not 0, is a soft limit on the whole
// heap: the collector works harder near it, so that a live heap that grows toward the bounds the
// program sets itself (the daemon's link queues) is not multiplied by five on top.
func Set(getenv func(string) string, memLimit int64) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if memLimit > 0 && getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memLimit)
	}
}
