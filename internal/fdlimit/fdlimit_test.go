package fdlimit

import (
	"syscall"
	"testing"
)

// TestRaise: a soft limit below the hard one comes up to it.
func TestRaise(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	if orig.Max < 64 {
		t.Fatalf("hard limit %d: too low to lower the soft one under it", orig.Max)
	}
	low := syscall.Rlimit{Cur: 32, Max: orig.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	soft, hard, err := Raise()
	if err != nil {
		t.Fatal(err)
	}
	var now syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
		t.Fatal(err)
	}
	if soft != orig.Max || hard != orig.Max || now.Cur != orig.Max {
		t.Errorf("after Raise: reported %d/%d, in force %d/%d; want soft = hard = %d", soft, hard, now.Cur, now.Max, orig.Max)
	}
}
