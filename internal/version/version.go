// Package version is what a build of this project says it is: the version and commit that the
// Makefile stamps in with -ldflags -X, or else what the Go toolchain recorded in the binary (the
// module version of a `go install ...@v1.2.3`, the VCS revision of a build in a checkout). It is
// not a compatibility check between daemon and agent: it only names the build.
package version

import (
	"runtime/debug"
	"strings"
)

// Set at link time by the Makefile:
//
//	-X github.com/mitogen-go/mitogend/internal/version.version=$(git describe --always --dirty)
//	-X github.com/mitogen-go/mitogend/internal/version.commit=$(git rev-parse HEAD)
var version, commit string

// Version is the build's version: `git describe --always --dirty` for a make build ("v0.3-4-
// g1a2b3c4", "1a2b3c4-dirty"), the module version for go install, "devel" when nothing says.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// Commit is the full commit hash the build was made from, with "+dirty" when the tree had
// uncommitted changes, or "" when the build does not say.
func Commit() string {
	if commit != "" {
		return commit
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && modified == "true" && !strings.HasSuffix(rev, "+dirty") {
		rev += "+dirty"
	}
	return rev
}
