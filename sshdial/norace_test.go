//go:build !race

package sshdial

const raceEnabled = false
