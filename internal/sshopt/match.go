package sshopt

import "strings"

// MatchPattern is match.c's match_pattern: '*' matches any run of bytes
// and '?' any one byte, everything else itself, case-sensitively. It
// backtracks only to the last '*', so it runs in O(len(s)*len(pattern))
// on any input.
func MatchPattern(s, pattern string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && pattern[pi] == '*': // a wildcard even where s has a '*'
			star, mark = pi, si
			pi++
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			si++
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

// MatchPatternList is match.c's match_pattern_list: 1 if s matches a
// pattern of the comma-separated list, -1 if it matches a negated
// ("!pattern") one, 0 otherwise. lower lowercases the patterns (ASCII
// only, as tolower in ssh). A pattern of 1023 bytes or more makes the
// whole list fail, and a trailing comma adds no empty pattern, as in ssh.
func MatchPatternList(s, list string, lower bool) int {
	if lower {
		list = ASCIILower(list)
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
		if MatchPattern(s, sub) {
			if neg {
				return -1
			}
			got = 1
		}
	}
	return got
}

// ASCIILower lowercases ASCII letters only, as C's tolower does for the
// bytes ssh compares.
func ASCIILower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
