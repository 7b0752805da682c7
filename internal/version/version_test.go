package version

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStampedByLinker builds testdata/printversion with the Makefile's -X flags and without
// them: the stamped values win, and without them the toolchain's record (or "devel") is used.
func TestStampedByLinker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program: skipped under -short")
	}
	exe := filepath.Join(t.TempDir(), "printversion")
	run := func(ldflags string) string {
		out, err := exec.Command("go", "build", "-o", exe, "-ldflags", ldflags, "./testdata/printversion").CombinedOutput()
		if err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		out, err = exec.Command(exe).Output()
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	const p = "github.com/mitogen-go/mitogend/internal/version."
	if got := run("-X " + p + "version=v9.9-1-gabc -X " + p + "commit=abc123"); got != "v9.9-1-gabc|abc123" {
		t.Errorf("stamped build says %q", got)
	}
	if v, _, _ := strings.Cut(run("-s"), "|"); v == "" || v == "v9.9-1-gabc" {
		t.Errorf("unstamped build says version %q", v)
	}
}
