package gctune

import (
	"runtime"
	"testing"
)

func TestLimitProcs(t *testing.T) {
	defer runtime.SetDefaultGOMAXPROCS()
	for _, tc := range []struct {
		procs, want int
		env         string
	}{
		{1, 1, ""}, {2, 1, ""}, {3, 1, ""}, {4, 2, ""}, {8, 2, ""}, {12, 3, ""}, {16, 4, ""},
		{16, 16, "16"}, // the user's GOMAXPROCS stands
	} {
		runtime.GOMAXPROCS(tc.procs)
		got := LimitProcs(func(k string) string {
			if k == "GOMAXPROCS" {
				return tc.env
			}
			return ""
		})
		if got != tc.want || runtime.GOMAXPROCS(0) != tc.want {
			t.Errorf("from %d with GOMAXPROCS=%q: returned %d, runtime has %d, want %d", tc.procs, tc.env, got, runtime.GOMAXPROCS(0), tc.want)
		}
	}
}
