package sshconfig

import (
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// matchHostname compares host names case-insensitively, as DNS does.
func matchHostname(host, list string) bool {
	return sshopt.MatchPatternList(sshopt.ASCIILower(host), list, true) == 1
}

// hostLine evaluates the patterns of a Host line against the destination as
// typed: any positive match activates, any negated match deactivates.
func hostLine(host string, patterns []string) bool {
	active := false
	for _, p := range patterns {
		negated := strings.HasPrefix(p, "!")
		if negated {
			p = p[1:]
		}
		if sshopt.MatchPattern(host, p) {
			if negated {
				return false
			}
			active = true
		}
	}
	return active
}
