package cli

import (
	"github.com/mitogen-go/mitogend/daemon"
	"github.com/mitogen-go/mitogend/internal/gctune"
)

// TuneRuntime sets the Go runtime for the command args names, before Run: the collector for
// every command, and for serve, the relay, its share of the processors (gctune.LimitProcs);
// mitogend cp and the others take what they need. What the user set in GOGC, GOMEMLIMIT or
// GOMAXPROCS stands. main calls it first: it changes the whole process.
func TuneRuntime(args []string, getenv func(string) string) {
	gctune.Set(getenv, daemon.SoftMemoryLimit)
	if len(args) > 1 && args[1] == "serve" {
		gctune.LimitProcs(getenv)
	}
}
