package ratelog

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := New(3, time.Second)
	l.now = func() time.Time { return clock }
	var lines []string
	logf := func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) }
	for i := range 10 {
		l.Logf(logf, "drop %d", i)
	}
	if len(lines) != 3 {
		t.Fatalf("burst let %d lines through, want 3: %q", len(lines), lines)
	}
	clock = clock.Add(1500 * time.Millisecond)
	l.Logf(logf, "drop %d", 10)
	l.Logf(logf, "drop %d", 11)
	if len(lines) != 4 || !strings.HasSuffix(lines[3], "drop 10 (7 similar lines suppressed)") {
		t.Fatalf("after one interval got %q, want one line naming 7 suppressed", lines)
	}
	clock = clock.Add(time.Hour)
	for i := range 5 {
		l.Logf(logf, "late %d", i)
	}
	if len(lines) != 7 {
		t.Errorf("a long pause refills only the burst: got %d lines, want 7", len(lines))
	}
	if !strings.HasSuffix(lines[4], "(1 similar lines suppressed)") {
		t.Errorf("the line after a pause reports the one held back: %q", lines[4])
	}
}
