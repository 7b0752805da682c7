//go:build race

package sshdial

// raceEnabled: under the race detector sync.Pool drops a share of what it is given on
// purpose, so a pool's reuse cannot be measured by counting allocations.
const raceEnabled = true
