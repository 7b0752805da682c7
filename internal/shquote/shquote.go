// Package shquote quotes words for a Bourne-like shell: the project's one implementation, used
// for command lines fakessh re-emits, the agent bootstrap and the shim's instructions.
//
// It is not a parser (flagparse's shellwords splits) and knows nothing of csh or fish beyond
// what Quote's comment says.
package shquote

import "strings"

// safe are the bytes a word may hold and still need no quotes, in every Bourne-like shell.
const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-"

// Quote puts s in single quotes, each ' as '\”. The result is one word for any Bourne-like
// shell; for fish and csh too when s has no newline, "!", or backslash before a backslash or a
// quote.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Word is s as it is when no shell would change it, else Quote(s).
func Word(s string) string {
	if s != "" && strings.Trim(s, safe) == "" {
		return s
	}
	return Quote(s)
}
