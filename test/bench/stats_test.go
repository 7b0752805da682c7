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
	twice := ms(200, 260, 180, 230, 320, 190, 210, 240, 198, 280, 176, 222, 250, 202, 194)
	for _, tc := range []struct {
		name     string
		row      Row
		lo, hi   float64 // the interval must lie within [lo, hi] and hold the ratio
		minWidth float64
		wantOK   bool
	}{
		// Paired, each run of A beside the same run of B: every resample gives the ratio.
		{"same runs", Row{SA: noisy, SB: noisy}, 1, 1, 0, true},
		{"A twice as slow, run by run", Row{SA: twice, SB: noisy}, 2, 2, 0, true},
		// The same runs taken apart: the noise is no longer shared, the interval widens.
		{"same runs, apart", Row{SA: noisy, SB: noisy, Apart: true}, 0.8, 1.25, 0.1, true},
		{"unequal counts", Row{SA: ms(100, 140, 90, 120, 110, 95, 130), SB: ms(105, 92, 150, 99, 118)}, 0.6, 1.6, 0.05, true},
		{"five runs each", Row{SA: ms(100, 110, 120, 130, 140), SB: ms(100, 110, 120, 130, 140)}, 1, 1, 0, true},
		{"four runs of A", Row{SA: ms(100, 110, 120, 130), SB: noisy}, 0, 0, 0, false},
		{"one run of A", Row{SA: ms(100), SB: noisy}, 0, 0, 0, false},
		{"B's median zero", Row{SA: noisy, SB: make(Samples, 15)}, 0, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi, ok := tc.row.RatioInterval()
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if !ok {
				return
			}
			ratio := tc.row.Ratio()
			const eps = 1e-9
			if lo < tc.lo-eps || hi > tc.hi+eps || lo > ratio+eps || hi < ratio-eps || hi-lo < tc.minWidth {
				t.Fatalf("interval %.3f-%.3f around ratio %.3f, want within %.3f-%.3f and %.2f wide at least", lo, hi, ratio, tc.lo, tc.hi, tc.minWidth)
			}
			if lo2, hi2, _ := tc.row.RatioInterval(); lo2 != lo || hi2 != hi {
				t.Fatalf("second call gave %.3f-%.3f, first %.3f-%.3f", lo2, hi2, lo, hi)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	sorted := make([]float64, 2000)
	for i := range sorted {
		sorted[i] = float64(i)
	}
	for _, tc := range []struct {
		n, perMille int
		want        float64
	}{
		{2000, 25, 50}, {2000, 975, 1949}, {2000, 500, 1000}, {1000, 25, 25}, {1000, 975, 974},
	} {
		if got := percentile(sorted[:tc.n], tc.perMille); got != tc.want {
			t.Errorf("percentile of %d values at %d/1000 = %v, want %v", tc.n, tc.perMille, got, tc.want)
		}
	}
}
