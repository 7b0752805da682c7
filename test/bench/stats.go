package bench

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Samples is one contender's measurements in one row.
type Samples []time.Duration

// Median is the middle sample (the mean of the two middle ones for an even count).
func (s Samples) Median() time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// Min and Max bound the spread.
func (s Samples) Min() time.Duration { return slices.Min(s) }
func (s Samples) Max() time.Duration { return slices.Max(s) }

// Row is one line of the results table: A measured against B.
type Row struct {
	Name   string
	A, B   string // contender names
	SA, SB Samples
	Goal   string // e.g. "<= 0.25"
	Extra  string // derived figures: RTTs per call, bytes, MB/s
	// Apart says A's and B's runs came from separate interleave calls, one after the other,
	// so that the i-th of A did not run beside the i-th of B (RatioInterval).
	Apart bool
}

// Ratio is median(A) / median(B).
func (r Row) Ratio() float64 {
	if r.SB.Median() == 0 {
		return 0
	}
	return float64(r.SA.Median()) / float64(r.SB.Median())
}

// minIntervalRuns is the fewest runs per contender RatioInterval gives an interval for.
const minIntervalRuns = 5

// RatioInterval is a 95% bootstrap interval for Ratio: the 2.5th and 97.5th percentiles of
// median(A)/median(B) over 2,000 resamplings of the runs. Runs that interleave gave both
// contenders (A B A B) are resampled in pairs, the i-th of A with the i-th of B, so that a slow
// phase of the machine weighs on both as it did when they ran; a row whose contenders ran
// apart (Row.Apart) is resampled apart. The seed is fixed: the same samples give the same
// interval. ok is false below minIntervalRuns runs of either contender, or when B's median is
// zero. It is rough at five runs, where a resampled median is often the smallest or largest
// run, and it speaks of the noise within this run only: the next make bench may land outside
// it. A goal met or missed well inside it says little either way.
func (r Row) RatioInterval() (lo, hi float64, ok bool) {
	if len(r.SA) < minIntervalRuns || len(r.SB) < minIntervalRuns || r.SB.Median() == 0 {
		return 0, 0, false
	}
	const resamples = 2000
	rng := rand.New(rand.NewPCG(1, 2))
	paired := !r.Apart && len(r.SA) == len(r.SB)
	a, b := make(Samples, len(r.SA)), make(Samples, len(r.SB))
	ratios := make([]float64, 0, resamples)
	for range resamples {
		if paired {
			for i := range a {
				j := rng.IntN(len(a))
				a[i], b[i] = r.SA[j], r.SB[j]
			}
		} else {
			resample(rng, a, r.SA)
			resample(rng, b, r.SB)
		}
		if mb := b.Median(); mb > 0 {
			ratios = append(ratios, float64(a.Median())/float64(mb))
		}
	}
	if len(ratios) < resamples/2 {
		return 0, 0, false
	}
	slices.Sort(ratios)
	return percentile(ratios, 25), percentile(ratios, 975), true
}

// resample fills dst with runs drawn from src with replacement.
func resample(rng *rand.Rand, dst, src Samples) {
	for i := range dst {
		dst[i] = src[rng.IntN(len(src))]
	}
}

// percentile is the value perMille/1000 of the way through sorted, counted from the nearer
// end, so that the two ends of an interval leave as many values out: sorted[50] and
// sorted[1949] of 2,000 for 25 and 975.
func percentile(sorted []float64, perMille int) float64 {
	if perMille > 500 {
		return sorted[len(sorted)-1-len(sorted)*(1000-perMille)/1000]
	}
	return sorted[len(sorted)*perMille/1000]
}

func interval(r Row) string {
	lo, hi, ok := r.RatioInterval()
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2f-%.2f", lo, hi)
}

// Table renders rows as a Markdown table.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| # | measurement | A | A median [min..max] | B | B median [min..max] | A/B | A/B 95% | goal | notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for i, r := range rows {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %.2f | %s | %s | %s |\n", i+1, r.Name,
			r.A, spread(r.SA), r.B, spread(r.SB), r.Ratio(), interval(r), r.Goal, r.Extra)
	}
	return b.String()
}

func spread(s Samples) string {
	if len(s) == 0 {
		return "-"
	}
	return fmt.Sprintf("%s [%s..%s] n=%d", fmtDur(s.Median()), fmtDur(s.Min()), fmtDur(s.Max()), len(s))
}

// fmtDur prints milliseconds with three significant digits or so.
func fmtDur(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f s", ms/1000)
	}
}
