package bench

import (
	"testing"
	"time"
)

func ms(v ...float64) Samples {
	s := make(Samples, len(v))
	for i, x := range v {
		s[i] = time.Duration(x * float64(time.Millisecond))
	}
	return s
}

func TestRatioInterval(t *testing.T) {
	noisy := ms(100, 130, 90, 115, 160, 95, 105, 120, 99, 140, 88, 111, 125, 101, 97)
	for _, tc := range []struct {
		name   string
		a, b   Samples
		lo, hi float64 // the interval must lie within [lo, hi] and hold the ratio
		wantOK bool
	}{
		{"same runs", noisy, noisy, 0.999, 1.001, true},
		{"A twice as slow", ms(200, 260, 180, 230, 320, 190, 210, 240, 198, 280, 176, 222, 250, 202, 194), noisy, 1.99, 2.01, true},
		// Unpaired and noisy: the interval straddles the ratio and is wide, never a point.
		{"unpaired noise", ms(100, 140, 90, 120, 110, 95, 130), ms(105, 92, 150, 99, 118), 0.6, 1.6, true},
		{"too few runs", ms(100, 110, 120), ms(100, 110, 120), 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Row{SA: tc.a, SB: tc.b}
			lo, hi, ok := r.RatioInterval()
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if !ok {
				return
			}
			if lo < tc.lo || hi > tc.hi || lo > r.Ratio() || hi < r.Ratio() {
				t.Fatalf("interval %.3f-%.3f around ratio %.3f, want within %.3f-%.3f", lo, hi, r.Ratio(), tc.lo, tc.hi)
			}
			if lo2, hi2, _ := r.RatioInterval(); lo2 != lo || hi2 != hi {
				t.Fatalf("second call gave %.3f-%.3f, first %.3f-%.3f", lo2, hi2, lo, hi)
			}
			if tc.name == "unpaired noise" && hi-lo < 0.05 {
				t.Fatalf("interval %.3f-%.3f is too narrow for runs that vary by a third", lo, hi)
			}
		})
	}
}
