package client

import (
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/layout"
	"github.com/mitogen-go/mitogend/internal/version"
)

// printVersion is -V: versionLine alone, as ssh prints one line, on stderr. Callers parse it with
// patterns that a second line breaks (Ansible's community.crypto matches
// `^.*openssh_([0-9.]+)(p?[0-9]+)[^0-9]*.*$` against the whole of stderr, which fails when a later
// line has digits), so fakessh's own details need a -v before the V (-vV, `-v -V`), which ssh
// accepts and ignores: the build, the commit, the mitogend fakessh would start and the agent
// builds that mitogend would find.
func printVersion(opts *flagparse.Options, stdio Stdio) {
	fmt.Fprintln(stdio.Stderr, versionLine())
	if opts.Verbose == 0 {
		return
	}
	w := stdio.Stderr
	fmt.Fprintf(w, "fakessh %s\n", version.Version())
	if c := version.Commit(); c != "" {
		fmt.Fprintf(w, "commit %s\n", c)
	}
	fmt.Fprintf(w, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	daemon, err := daemonPath(stdio.getenv)
	if err != nil {
		fmt.Fprintf(w, "mitogend none: %v\n", err)
		return
	}
	if p, err := filepath.EvalSymlinks(daemon); err == nil {
		daemon = p
	}
	if abs, err := filepath.Abs(daemon); err == nil {
		daemon = abs
	}
	fmt.Fprintf(w, "mitogend %s\n", daemon)
	dirs := layout.AgentDirs(daemon)
	if d := stdio.getenv("MITOGEN_AGENT_DIR"); d != "" {
		dirs = []string{d}
	}
	layout.WriteAgents(w, dirs)
}
