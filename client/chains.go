package client

import (
	"os"
	"path/filepath"
)

// chainsFile is the file of named chains the daemon looks destinations up in first:
// $MITOGEN_CHAINS, else ~/.mitogen/chains when it exists (most users have none: then the daemon
// reads nothing).
func chainsFile(getenv func(string) string, home string) string {
	if p := getenv("MITOGEN_CHAINS"); p != "" {
		return p
	}
	p := filepath.Join(home, ".mitogen", "chains")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}
