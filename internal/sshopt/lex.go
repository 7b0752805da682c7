package sshopt

import "strings"

// Whitespace is readconf.c's WHITESPACE.
const Whitespace = " \t\r\n"

// SplitLine is the start of readconf.c's process_config_line: it strips
// trailing whitespace (never the first byte), takes the keyword with
// strdelim and lowercases it, and returns the rest with leading
// whitespace removed. keyword is "" for a blank or comment line, or when
// the keyword has an unmatched quote (ssh ignores such lines); rest is ""
// when no argument follows the keyword.
func SplitLine(line string) (keyword, rest string) {
	if line == "" {
		return "", ""
	}
	line = line[:1] + strings.TrimRight(line[1:], Whitespace+"\f")
	d := &delimState{s: line}
	kw, ok := d.next()
	if ok && kw == "" {
		// Leading whitespace: ssh calls strdelim once more.
		kw, ok = d.next()
	}
	if !ok || kw == "" || kw[0] == '\n' || kw[0] == '#' {
		return "", ""
	}
	if d.done {
		return ASCIILower(kw), ""
	}
	return ASCIILower(kw), SkipSet(d.s, Whitespace)
}

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
	i := strings.IndexAny(d.s, Whitespace+"\"=")
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
		d.s = SkipSet(rest[j+1:], Whitespace)
		return tok, true
	}
	wasEq := d.s[i] == '='
	tok = d.s[:i]
	d.s = SkipSet(d.s[i+1:], Whitespace)
	if !wasEq && strings.HasPrefix(d.s, "=") {
		d.s = SkipSet(d.s[1:], Whitespace)
	}
	return tok, true
}

// Delim is strdelim called again and again on one string, as readconf.c's match_cfg_line
// reads a Match line: a token ends at whitespace or one '=', and a double quote anywhere in it
// runs to the next double quote with no escapes (`"a b"c` is two tokens, `a"b c"` one).
type Delim struct{ d delimState }

// NewDelim starts reading s.
func NewDelim(s string) *Delim { return &Delim{delimState{s: s}} }

// Next is the next token; ok is false where strdelim returns NULL (the end, or an unmatched
// quote, which drops the rest).
func (d *Delim) Next() (tok string, ok bool) { return d.d.next() }

// Consume marks the rest as read, as match_cfg_line does at a comment.
func (d *Delim) Consume() { d.d.s, d.d.done = "", true }

// Consumed reports whether nothing is left to read.
func (d *Delim) Consumed() bool { return d.d.done || d.d.s == "" }

// SkipSet drops the leading bytes of s that are in set, as strspn does.
func SkipSet(s, set string) string {
	for s != "" && strings.IndexByte(set, s[0]) >= 0 {
		s = s[1:]
	}
	return s
}

// SplitArgs is misc.c's argv_split with terminate_on_comment: words are
// separated by spaces and tabs, single and double quotes group, '\'
// escapes quotes, backslash and (outside quotes) space, and a word
// starting with '#' ends the line. ok is false for an unterminated quote.
func SplitArgs(s string) (args []string, ok bool) {
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
			break // an unquoted blank ends the word
		}
		if quote != 0 {
			return nil, false
		}
		args = append(args, b.String())
	}
	return args, true
}
