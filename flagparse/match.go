package flagparse

import "strings"

// matchPattern is match.c's match_pattern: '*' matches any run of
// characters and '?' any one character. It backtracks only to the last
// '*', so it runs in O(len(s)*len(pattern)) on any input.
func matchPattern(s, pattern string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			si++
			pi++
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// matchPatternList is match.c's match_pattern_list: 1 if s matches a
// pattern of the comma-separated list, -1 if it matches a negated
// ("!pattern") one, 0 otherwise. Patterns of 1023 bytes or more fail as
// in ssh.
func matchPatternList(s, list string, lower bool) int {
	if lower {
		list = asciiLower(list)
	}
	got := 0
	for list != "" {
		neg := list[0] == '!'
		if neg {
			list = list[1:]
		}
		sub := list
		if i := strings.IndexByte(list, ','); i >= 0 {
			sub, list = list[:i], list[i+1:]
		} else {
			list = ""
		}
		if len(sub) >= 1023 {
			return 0
		}
		if matchPattern(s, sub) {
			if neg {
				return -1
			}
			got = 1
		}
	}
	return got
}
