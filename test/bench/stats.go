package bench

import (
	"fmt"
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

// Table renders rows as a Markdown table.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| # | measurement | A | A median [min..max] | B | B median [min..max] | A/B | goal | notes |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for i, r := range rows {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %.2f | %s | %s |\n", i+1, r.Name,
			r.A, spread(r.SA), r.B, spread(r.SB), r.Ratio(), r.Goal, r.Extra)
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
