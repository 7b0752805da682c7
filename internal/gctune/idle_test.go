package gctune

import (
	"testing"
	"time"
)

var sink [][]byte

// TestReturnWhenIdleAfterGarbage: a burst of garbage, then nothing allocated, is given back
// within a few periods.
func TestReturnWhenIdleAfterGarbage(t *testing.T) {
	freed := make(chan struct{}, 1)
	done := make(chan struct{})
	defer close(done)
	freeAll() // start from a heap given back, whatever ran before (-count)
	// The first reading is taken before the burst, as ReturnWhenIdle takes it at start.
	loop := idleLoop(10*time.Millisecond, func() {
		freeAll()
		select {
		case freed <- struct{}{}:
		default:
		}
	}, done)
	go loop()
	for range 64 {
		sink = append(sink, make([]byte, 256<<10)) // 16 MiB the runtime must map
	}
	sink = nil
	select {
	case <-freed:
	case <-time.After(10 * time.Second):
		t.Fatal("16 MiB of garbage, then idle: memory never returned")
	}
}
