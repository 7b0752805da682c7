package cli

import (
	"context"
	"io"
)

// Manual is mitogend(1), made from the same App, flags and texts as mitogend --help. Defaults
// that come from the environment are shown by name ($XDG_RUNTIME_DIR, ~) rather than as the
// values of whoever builds the page.
func Manual() (string, error) {
	docEnv := func(key string) string {
		switch key {
		case "HOME":
			return "~"
		case "XDG_RUNTIME_DIR":
			return "$XDG_RUNTIME_DIR"
		}
		return ""
	}
	app := newApp(context.Background(), Stdio{Stdout: io.Discard, Stderr: io.Discard, Getenv: docEnv})
	return app.ToManWithSection(1)
}
