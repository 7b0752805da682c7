package daemon

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/sshopt"
	"github.com/mitogen-go/mitogend/sshconfig"
)

// stdioProxy is a ProxyCommand that is `ssh -W host:port jump` (or fakessh's): what that ssh
// would do, a direct-tcpip channel to host:port on its connection to jump, the daemon does on
// its own connection to jump, so no process starts and the jump host's connection is shared.
type stdioProxy struct {
	host       string            // the jump host, as the command names it
	config     sshconfig.Options // the command's options, its command line
	configFile string            // its -F
	addr       string            // where the channel goes: -W's host and port
}

// parseStdioProxy recognises command (with its %-tokens expanded) as an ssh -W that the daemon
// can stand in for: one simple command, ssh or fakessh by any path, -W with a host, a jump host,
// and nothing that ssh would do besides (a remote command, forwards, -f, -O, options fakessh
// refuses). Anything else runs as a process.
func parseStdioProxy(command string) (stdioProxy, bool) {
	// No leading "exec" is taken off: ssh runs "exec COMMAND", and sh cannot exec "exec".
	words, ok := shellWords(command)
	if !ok || len(words) == 0 {
		return stdioProxy{}, false
	}
	if base := filepath.Base(words[0]); base != "ssh" && base != "fakessh" {
		return stdioProxy{}, false
	}
	opts, err := flagparse.Parse(words[1:])
	if err != nil || opts.StdioForward == "" || opts.Host == "" || opts.Command != "" ||
		opts.ControlCommand != "" || opts.DumpConfig || opts.Version || opts.Query != "" ||
		opts.Background || opts.Subsystem || asksMore(opts.Config) {
		return stdioProxy{}, false
	}
	fw, ok := sshopt.ParseForwardSpec(opts.StdioForward, true, false)
	if !ok || !fw.HasListenHost || fw.ListenPort <= 0 {
		return stdioProxy{}, false
	}
	return stdioProxy{host: opts.Host, config: sshconfig.Options(opts.Config), configFile: opts.ConfigFile,
		addr: net.JoinHostPort(fw.ListenHost, strconv.Itoa(fw.ListenPort))}, true
}

// asksMore reports options with which the ssh in a ProxyCommand would do more than carry the
// stdio forward, or something fakessh refuses: that ssh had better run.
func asksMore(c flagparse.Config) bool {
	for _, k := range []string{"localforward", "remoteforward", "dynamicforward", "bindaddress", "bindinterface",
		"certificatefile"} {
		if len(c.All(k)) > 0 {
			return true
		}
	}
	isNot := func(key string, values ...string) bool {
		v, ok := c.Get(key)
		if !ok {
			return false
		}
		for _, want := range values {
			if strings.EqualFold(v, want) {
				return false
			}
		}
		return true
	}
	permit, _ := c.Get("permitlocalcommand")
	return isNot("forwardagent", "no", "false") || isNot("forwardx11", "no", "false") ||
		isNot("tunnel", "no", "false") || isNot("remotecommand", "none", "") ||
		isNot("pkcs11provider", "none", "") || isNot("knownhostscommand", "none", "") ||
		isNot("proxyusefdpass", "no", "false") ||
		(isNot("localcommand", "") && (strings.EqualFold(permit, "yes") || strings.EqualFold(permit, "true")))
}

// shellWords splits command into words as sh would, for the simple commands a ProxyCommand
// usually is: blanks between words, '...', "..." without $ or `, backslash escapes, and a
// comment from an unquoted # at the start of a word. It gives up (ok false) on anything sh
// would expand or that makes more than one simple command: $, `, unquoted | & ; < > ( ) * ? ~,
// a newline, an assignment before the command. Unquoted [ ] are kept as they are, as sh keeps a
// pattern that matches no file name (ssh -J writes '[%h]:%p', quoted).
func shellWords(command string) (words []string, ok bool) {
	var cur strings.Builder
	inWord := false
	end := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(command); i++ {
		c := command[i]
		switch {
		case c == ' ' || c == '\t':
			end()
		case c == '#' && !inWord:
			i = len(command) // a comment to the end
		case c == '\'':
			j := strings.IndexByte(command[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(command[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			n, ok := doubleQuoted(command[i+1:], &cur)
			if !ok {
				return nil, false
			}
			i += n
			inWord = true
		case c == '\\':
			if i+1 >= len(command) || command[i+1] == '\n' {
				return nil, false
			}
			i++
			cur.WriteByte(command[i])
			inWord = true
		case strings.IndexByte("|&;<>()$`*?\n\r", c) >= 0, c == '~' && !inWord:
			return nil, false
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	end()
	if len(words) > 0 && isAssignment(words[0]) {
		return nil, false
	}
	return words, true
}

// doubleQuoted copies the inside of "..." from s (just past the opening quote) to b and
// returns how many bytes it used, the closing quote included.
func doubleQuoted(s string, b *strings.Builder) (int, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return i + 1, true
		case '$', '`':
			return 0, false
		case '\\':
			if i+1 < len(s) && strings.IndexByte("\"\\", s[i+1]) >= 0 {
				i++
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '\n' {
				return 0, false
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return 0, false
}

// isAssignment reports a NAME=value word, which sh takes as an assignment, not a command.
func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i, c := range name {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
