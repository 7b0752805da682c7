package gctune

import (
	"runtime"
	"runtime/debug"
	"time"
)

// Bounds of ReturnWhenIdle.
const (
	// idleAllocs is what a period may allocate and still count as idle: an agent holding idle
	// streams allocates next to nothing, one carrying a transfer hundreds of MiB a second.
	idleAllocs = 256 << 10
	// worthReturning is how far the memory the runtime holds must have grown since it last gave
	// some back before a collection to give it back is worth its CPU.
	worthReturning = 2 << 20
)

// ReturnWhenIdle gives the heap back to the system once the program goes idle after using it.
// With the collector at five times the live heap (Set), a burst of streams leaves tens of MiB
// of garbage, and with nothing allocating no collection comes to free it for two minutes, and
// the scavenger returns it slowly after that: an idle agent stayed at 40 MiB after a transfer of
// 256 MiB, ten times what it needs. Every period it looks at the runtime's counters; after a
// period that allocated less than idleAllocs, if what the runtime holds grew by worthReturning
// since the last return, it collects and returns the free memory (debug.FreeOSMemory, a few
// milliseconds for a small live heap). Busy, it never runs: streams keep their throughput. It
// runs until the process exits.
func ReturnWhenIdle(period time.Duration) {
	loop := idleLoop(period, freeAll, nil) // its first reading is taken here, before any burst
	go loop()
}

// freeAll collects twice before returning memory: what a sync.Pool held (a link's write buffer,
// up to 512 KiB each) outlives the first collection in the pool's victim cache.
func freeAll() {
	runtime.GC()
	debug.FreeOSMemory()
}

// idleLoop reads the counters once now and returns the loop that watches them, calling free
// as ReturnWhenIdle says, until done is closed (nil: never).
func idleLoop(period time.Duration, free func(), done <-chan struct{}) func() {
	// runtime.ReadMemStats rather than runtime/metrics, whose table of descriptions would add
	// 37 KB to the agent; stopping the world every period costs microseconds on a small heap.
	var m runtime.MemStats
	read := func() (allocs, held uint64) {
		runtime.ReadMemStats(&m)
		return m.TotalAlloc, m.HeapSys - m.HeapReleased
	}
	lastAllocs, floor := read()
	return func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			allocs, held := read()
			idle := allocs-lastAllocs < idleAllocs
			lastAllocs = allocs
			switch {
			case held < floor:
				floor = held // the scavenger returned some on its own
			case idle && held-floor >= worthReturning:
				free()
				lastAllocs, floor = read()
			}
		}
	}
}
