package testenv

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for a test: it records Skipf and Fatalf and stops the calling goroutine, as
// the real ones do, without skipping or failing the test that uses it.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// record runs f against a fresh recorder and reports what it did; ran says f returned normally.
func record(t *testing.T, f func(testing.TB)) (r *recorder, ran bool) {
	r = &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
		ran = true
	}()
	<-done
	return r, ran
}

func TestSkipUnderTheSwitch(t *testing.T) {
	const msg = "frob is not installed"
	tests := []struct {
		ci, require string
		wantFail    string // "" for a skip
	}{
		{"", "", ""},
		{"false", "0", ""},
		{"1", "yes", ""}, // only the documented spellings turn it on
		{"true", "", "under CI=true"},
		{"", "1", "under MITOGEN_REQUIRE_E2E=1"},
		{"true", "1", "under CI=true"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("CI=%q %s=%q", tt.ci, RequireEnv, tt.require), func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv(RequireEnv, tt.require)
			r, ran := record(t, func(tb testing.TB) { Skip(tb, "frob is %s", "not installed") })
			if ran {
				t.Fatal("Skip returned")
			}
			if tt.wantFail == "" {
				if r.skipped != msg || r.failed != "" {
					t.Errorf("skipped %q failed %q, want a skip saying %q", r.skipped, r.failed, msg)
				}
				return
			}
			if r.skipped != "" || !strings.HasPrefix(r.failed, msg) || !strings.Contains(r.failed, tt.wantFail) {
				t.Errorf("skipped %q failed %q, want a failure saying %q and %q", r.skipped, r.failed, msg, tt.wantFail)
			}
		})
	}
}

func TestNeedTool(t *testing.T) {
	t.Setenv("CI", "true")
	t.Setenv(RequireEnv, "")
	var path string
	if _, ran := record(t, func(tb testing.TB) { path = NeedTool(tb, "sh") }); !ran || path == "" {
		t.Errorf("NeedTool(sh) = %q, ran %v; want the path of sh", path, ran)
	}
	r, ran := record(t, func(tb testing.TB) { NeedTool(tb, "no-such-program-mitogen") })
	if ran || !strings.HasPrefix(r.failed, "no-such-program-mitogen is not installed") {
		t.Errorf("NeedTool(missing) ran %v, failed %q", ran, r.failed)
	}
}

func TestNeedRoot(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv(RequireEnv, "")
	r, ran := record(t, func(tb testing.TB) { NeedRoot(tb, "frobbing") })
	if root := os.Geteuid() == 0; ran != root || (!root && r.skipped != "frobbing needs root") {
		t.Errorf("NeedRoot as euid %d: ran %v, skipped %q", os.Geteuid(), ran, r.skipped)
	}
}

func TestSkipShortIgnoresTheSwitch(t *testing.T) {
	t.Setenv("CI", "true")
	r, ran := record(t, func(tb testing.TB) { SkipShort(tb, "sshd") })
	if testing.Short() != !ran || (testing.Short() && r.skipped != "sshd: skipped under -short") {
		t.Errorf("SkipShort with -short=%v: ran %v, skipped %q, failed %q", testing.Short(), ran, r.skipped, r.failed)
	}
}
