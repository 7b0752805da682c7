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
// median(A)/median(B) over 2,000 resamplings of the runs. When the two contenders have as many
// runs, as interleave gives them (A B A B), the runs are resampled in pairs, the i-th of A
// with the i-th of B, so that a slow phase of the machine weighs on both as it did when they
// ran. The seed is fixed: the same samples give the same interval. ok is false below
// minIntervalRuns runs of either contender. The interval says how far the machine's noise
// alone could move the ratio; a goal met or missed inside it is met or missed by chance.
func (r Row) RatioInterval() (lo, hi float64, ok bool) {
	if len(r.SA) < minIntervalRuns || len(r.SB) < minIntervalRuns {
		return 0, 0, false
	}
	const resamples = 2000
	rng := rand.New(rand.NewPCG(1, 2))
	paired := len(r.SA) == len(r.SB)
	ratios := make([]float64, 0, resamples)
	a, b := make(Samples, len(r.SA)), make(Samples, len(r.SB))
	for range resamples {
		if paired {
			for i := range a {
				j := rng.IntN(len(a))
				a[i], b[i] = r.SA[j], r.SB[j]
			}
		} else {
			for i := range a {
				a[i] = r.SA[rng.IntN(len(a))]
			}
			for i := range b {
				b[i] = r.SB[rng.IntN(len(b))]
			}
		}
		if mb := b.Median(); mb > 0 {
			ratios = append(ratios, float64(a.Median())/float64(mb))
		}
	}
	if len(ratios) == 0 {
		return 0, 0, false
	}
	slices.Sort(ratios)
	return ratios[len(ratios)*25/1000], ratios[len(ratios)*975/1000-1], true
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
