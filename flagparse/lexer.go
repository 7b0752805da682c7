package flagparse

import "strings"

const whitespace = " \t\r\n"

// delimState is misc.c's strdelim over a line: next returns the next
// token and skips its delimiter, following whitespace and at most one '='.
// A token may contain a "quoted part"; ok is false for an unmatched quote.
// done mirrors strdelim setting its pointer to NULL: the last token ran
// to the end of the line.
type delimState struct {
	s    string
	done bool
}

func (d *delimState) next() (tok string, ok bool) {
	if d.done {
		return "", false
	}
	i := strings.IndexAny(d.s, whitespace+"\"=")
	if i < 0 {
		tok, d.s, d.done = d.s, "", true
		return tok, true
	}
	if d.s[i] == '"' {
		rest := d.s[:i] + d.s[i+1:]
		j := strings.IndexByte(rest[i:], '"')
		if j < 0 {
			d.s, d.done = "", true
			return "", false
		}
		j += i
		tok = rest[:j]
		d.s = skipSet(rest[j+1:], whitespace)
		return tok, true
	}
	wasEq := d.s[i] == '='
	tok = d.s[:i]
	d.s = skipSet(d.s[i+1:], whitespace)
	if !wasEq && strings.HasPrefix(d.s, "=") {
		d.s = skipSet(d.s[1:], whitespace)
	}
	return tok, true
}

func skipSet(s, set string) string {
	for s != "" && strings.IndexByte(set, s[0]) >= 0 {
		s = s[1:]
	}
	return s
}

// argvSplit is misc.c's argv_split with terminate_on_comment: words are
// separated by spaces and tabs, single and double quotes group, '\'
// escapes quotes, backslash and (outside quotes) space, and a word
// starting with '#' ends the line. ok is false for an unterminated quote.
func argvSplit(s string) (args []string, ok bool) {
	i := 0
	for i < len(s) {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		if s[i] == '#' {
			break
		}
		var b strings.Builder
		var quote byte
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"' ||
				s[i+1] == '\\' || quote == 0 && s[i+1] == ' '):
				i++
				b.WriteByte(s[i])
				continue
			case c == '\\':
				b.WriteByte(c)
				continue
			case quote == 0 && (c == ' ' || c == '\t'):
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			default:
				b.WriteByte(c)
				continue
			}
			break
		}
		args = append(args, b.String())
		if i >= len(s) && quote != 0 {
			return nil, false
		}
	}
	return args, true
}
