package sshconfig

import (
	"errors"
	"strings"
)

const whitespace = " \t\r\n"

// splitLine separates a config line into its lowercase keyword and the text
// after it, following readconf.c: the keyword ends at whitespace or '=', and
// one '=' (with any whitespace around it) may separate it from the value.
// An empty keyword means the line is blank or a comment.
func splitLine(line string) (key, rest string) {
	line = strings.TrimRight(line, whitespace+"\f")
	line = strings.TrimLeft(line, whitespace)
	if line == "" || line[0] == '#' {
		return "", ""
	}
	end := strings.IndexAny(line, whitespace+"=")
	if end < 0 {
		return strings.ToLower(line), ""
	}
	key, rest = strings.ToLower(line[:end]), line[end:]
	sawEquals := rest[0] == '='
	rest = strings.TrimLeft(rest[1:], whitespace)
	if !sawEquals && strings.HasPrefix(rest, "=") {
		rest = rest[1:]
	}
	return key, strings.TrimLeft(rest, whitespace)
}

var errQuotes = errors.New("invalid quotes")

// splitArgs is OpenSSH's argv_split with comment termination: words are
// separated by blanks, single or double quotes group, backslash escapes a
// quote, a backslash or (outside quotes) a space, and a word starting with
// '#' ends the line.
func splitArgs(s string) ([]string, error) {
	var args []string
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
				s[i+1] == '\\' || (quote == 0 && s[i+1] == ' ')):
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
			break // unquoted blank ends the word
		}
		if quote != 0 {
			return nil, errQuotes
		}
		args = append(args, b.String())
	}
	return args, nil
}
