// Package vis makes text from untrusted peers safe to print on a terminal, the way OpenSSH
// escapes its log messages (strnvis with VIS_SAFE|VIS_OCTAL): printable ASCII, space, tab,
// newline, carriage return, backspace and bell pass; every other byte becomes \ooo. A target
// can then never move the cursor, retitle the window or answer the terminal for the user.
//
// It is not a quoting scheme: the result is for eyes, not for parsing back.
package vis

import (
	"fmt"
	"strings"
)

// Safe returns s with every unsafe byte written as a backslash and three octal digits.
func Safe(s string) string {
	if isSafe(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; safeByte(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	return b.String()
}

// Log is s escaped as ssh's log functions escape a message for stderr (strnvis with
// VIS_SAFE|VIS_OCTAL, without VIS_NOSLASH): Safe, and a backslash doubled, so that an escape
// cannot be forged and a message reads back unambiguously.
func Log(s string) string {
	return Safe(strings.ReplaceAll(s, `\`, `\\`))
}

// Cut returns Safe(s), first cutting s to at most max bytes (marking the cut with "...").
func Cut(s string, max int) string {
	if len(s) > max {
		s = s[:max] + "..."
	}
	return Safe(s)
}

func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !safeByte(s[i]) {
			return false
		}
	}
	return true
}

func safeByte(c byte) bool {
	switch {
	case c >= ' ' && c <= '~':
		return true
	case c == '\t', c == '\n', c == '\r', c == '\b', c == '\a':
		return true
	}
	return false
}
