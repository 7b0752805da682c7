// Package testenv is how tests react when the machine lacks something they need: a program, root,
// a kernel feature. Normally such a test skips with a message; under the require switch (CI=true
// or MITOGEN_REQUIRE_E2E=1, which .ci/run sets) it fails with the same message, so a run cannot
// go green by skipping.
//
// -short is the exception: SkipShort always skips, since asking for the fast layers only is
// explicit. Skips that are not about the machine (a helper process's entry point, say) stay plain
// t.Skip. It is not a general environment probe and not for use outside tests.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// RequireEnv set to "1" turns skips for a missing prerequisite into failures, as CI=true does.
const RequireEnv = "MITOGEN_REQUIRE_E2E"

// Required reports whether the require switch is on, and which variable turned it on.
func Required() (bool, string) {
	switch {
	case os.Getenv("CI") == "true":
		return true, "CI=true"
	case os.Getenv(RequireEnv) == "1":
		return true, RequireEnv + "=1"
	}
	return false, ""
}

// Skip skips t with the message, or fails it with the same message under the require switch.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if on, why := Required(); on {
		t.Fatalf("%s (a failure, not a skip, under %s)", fmt.Sprintf(format, args...), why)
	}
	t.Skipf(format, args...)
}

// NeedTool returns the path of the program name found on PATH, or Skips t.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "%s is not installed", name)
	}
	return path
}

// NeedRoot Skips t unless it runs as root; what says what needs it ("acting as another user").
func NeedRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "%s needs root", what)
	}
}

// SkipShort skips t under -short, whatever the require switch says; what names the slow part.
func SkipShort(t testing.TB, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("%s: skipped under -short", what)
	}
}
