package flagparse

import (
	"github.com/mitogen-go/mitogend/internal/shquote"
	"strings"
)

// shellReserved are the words dash and bash give a meaning of their own
// in command position (reserved words, bash keywords).
var shellReserved = map[string]bool{
	"!": true, "{": true, "}": true, "case": true, "do": true, "done": true, "elif": true,
	"else": true, "esac": true, "fi": true, "for": true, "if": true, "in": true, "then": true,
	"until": true, "while": true, "function": true, "select": true, "time": true,
	"coproc": true, "[[": true, "]]": true,
}

// shellSpecial are the bytes that, unquoted, make SplitCommand give up:
// operators, expansions, globs, brace expansion, tilde, history and the
// old Bourne pipe. Several are literal in some contexts; SplitCommand
// does not try to know which.
const shellSpecial = "|&;<>()$`*?[]{}~!^"

// SplitCommand splits cmd, an ssh remote command (the string sshd hands
// to the login shell's -c), into the argv the shell would run, when the
// command is only literal words: unquoted words, '...', "..." without
// expansions, and backslash escapes. ok is false for anything the shell
// would interpret (operators, redirections, expansions, globs, comments,
// reserved words, an assignment in front, an unterminated quote) and for
// an empty command. It models sh (dash) and bash; it does not know what
// argv[0] names (a builtin, a function, a PATH entry).
func SplitCommand(cmd string) (argv []string, ok bool) {
	p := splitter{in: cmd}
	if !p.run() || len(p.words) == 0 {
		return nil, false
	}
	first := p.words[0]
	if shellReserved[first] || strings.Contains(first, "=") {
		return nil, false
	}
	return p.words, true
}

type splitter struct {
	in     string
	i      int
	word   strings.Builder
	inWord bool
	words  []string
}

func (p *splitter) run() bool {
	for p.i < len(p.in) {
		c := p.in[p.i]
		p.i++
		switch {
		case c == ' ' || c == '\t':
			p.endWord()
		case c == '\'':
			if !p.single() {
				return false
			}
		case c == '"':
			if !p.double() {
				return false
			}
		case c == '\\':
			if !p.escape() {
				return false
			}
		case c == '#' && !p.inWord:
			return false // a comment
		case isControl(c) || strings.IndexByte(shellSpecial, c) >= 0:
			return false
		default:
			p.add(c)
		}
	}
	p.endWord()
	return true
}

func (p *splitter) add(c byte) {
	p.word.WriteByte(c)
	p.inWord = true
}

func (p *splitter) endWord() {
	if p.inWord {
		p.words = append(p.words, p.word.String())
		p.word.Reset()
		p.inWord = false
	}
}

// single reads up to the closing quote: every byte is literal.
func (p *splitter) single() bool {
	end := strings.IndexByte(p.in[p.i:], '\'')
	if end < 0 {
		return false
	}
	for _, c := range []byte(p.in[p.i : p.i+end]) {
		if isControl(c) && c != '\n' {
			return false
		}
		p.word.WriteByte(c)
	}
	p.inWord = true
	p.i += end + 1
	return true
}

// double reads up to the closing quote: a backslash escapes only \ " $ `
// and newline (which it removes); a bare $ or ` is an expansion.
func (p *splitter) double() bool {
	p.inWord = true
	for p.i < len(p.in) {
		c := p.in[p.i]
		p.i++
		switch {
		case c == '"':
			return true
		case c == '$' || c == '`':
			return false
		case c == '\\' && p.i < len(p.in) && strings.IndexByte("\\\"$`\n", p.in[p.i]) >= 0:
			if p.in[p.i] != '\n' {
				p.word.WriteByte(p.in[p.i])
			}
			p.i++
		case c == '\\':
			p.word.WriteByte(c) // literal; the next byte is read as usual
		case isControl(c) && c != '\n':
			return false
		default:
			p.word.WriteByte(c)
		}
	}
	return false
}

// escape is an unquoted backslash: the next byte is literal, except a
// newline, which joins the lines; a trailing backslash gives up.
func (p *splitter) escape() bool {
	if p.i >= len(p.in) {
		return false
	}
	c := p.in[p.i]
	p.i++
	if c == '\n' {
		return true
	}
	if isControl(c) {
		return false
	}
	p.add(c)
	return true
}

// isControl reports the ASCII control bytes (and NUL and DEL), which
// SplitCommand refuses wherever a tab or a quoted newline would not do.
func isControl(c byte) bool { return c < 0x20 && c != '\t' || c == 0x7f }

// QuoteCommand is the inverse of SplitCommand: a command string whose
// words the shell reads back as argv, quoting with '...' every word that
// holds a byte outside [A-Za-z0-9_@%+=:,./-].
func QuoteCommand(argv []string) string {
	var out strings.Builder
	for i, w := range argv {
		if i > 0 {
			out.WriteByte(' ')
		}
		out.WriteString(shquote.Word(w))
	}
	return out.String()
}
