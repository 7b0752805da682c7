package sshconfig

import "strings"

// matchPattern is OpenSSH's match_pattern: '*' matches any run, '?' one
// byte, everything else itself, case-sensitively.
func matchPattern(s, pattern string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			if pattern == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if matchPattern(s[i:], pattern) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
		}
		s, pattern = s[1:], pattern[1:]
	}
	return s == ""
}

// matchList is OpenSSH's match_pattern_list: a comma-separated list of
// patterns, each optionally negated with '!'. It returns -1 when a negated
// pattern matches, 1 when a positive one does, else 0.
func matchList(s, list string, lower bool) int {
	positive := 0
	for _, p := range strings.Split(list, ",") {
		negated := strings.HasPrefix(p, "!")
		if negated {
			p = p[1:]
		}
		if lower {
			p = strings.ToLower(p)
		}
		if matchPattern(s, p) {
			if negated {
				return -1
			}
			positive = 1
		}
	}
	return positive
}

// matchHostname compares host names case-insensitively, as DNS does.
func matchHostname(host, list string) bool {
	return matchList(strings.ToLower(host), list, true) == 1
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
		if matchPattern(host, p) {
			if negated {
				return false
			}
			active = true
		}
	}
	return active
}
