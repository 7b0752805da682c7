package sshconfig

import (
	"fmt"
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// Getenv looks a variable of the caller's environment up, telling unset from empty.
type Getenv func(name string) (string, bool)

// The keywords whose values ssh expands ${NAME} in (ssh_config(5), ENVIRONMENT VARIABLES),
// split by when ssh does it: once the files are read (so -G prints them expanded), or only when
// it loads the file, after connecting (-G prints them as written).
var (
	envAtFill = []string{"controlpath", "forwardagent", "identityagent", "userknownhostsfile"}
	envAtLoad = []string{"certificatefile", "identityfile"}
)

// ExpandEnv returns o with ${NAME} expanded, from getenv, in the values ssh expands once the
// files are read; with load, also in those it expands when it loads them (identity and
// certificate files), and IdentityAgent's "$NAME" replaced by that variable's value. A value
// from the environment is inserted as itself: a '%' in it is doubled, so that the %-token
// expansion Target does afterwards leaves it alone, as ssh's single pass does. A missing
// variable or a malformed ${ is a *ConfigError with ssh's fatal lines.
func ExpandEnv(o Options, getenv Getenv, load bool) (Options, error) {
	keys := envAtFill
	if load {
		keys = append(append([]string(nil), envAtFill...), envAtLoad...)
	}
	out := make(Options, len(o))
	for k, v := range o {
		out[k] = v
	}
	for _, k := range keys {
		vals := o[k]
		if len(vals) == 0 || k == "identityagent" && (vals[0] == "none" || vals[0] == "SSH_AUTH_SOCK") ||
			k == "forwardagent" && isFlagWord(vals[0]) {
			continue
		}
		expanded := make([]string, len(vals))
		for i, v := range vals {
			e, msgs, missing := dollarExpand(v, getenv)
			if err := expandFailure(k, msgs, missing); err != nil {
				return nil, err
			}
			expanded[i] = e
		}
		if k == "identityagent" && load && LegacyEnvName(expanded[0]) {
			if val, ok := getenv(expanded[0][1:]); ok {
				expanded[0] = strings.ReplaceAll(val, "%", "%%")
			}
		}
		out[k] = expanded
	}
	return out, nil
}

// expandFailure is ssh's fatal error after dollarExpand's lines msgs (nil for none): ssh.c's
// own line when only variables were missing, percent_dollar_expand's for a malformed ${.
func expandFailure(keyword string, msgs []string, missing bool) error {
	switch {
	case len(msgs) == 0:
		return nil
	case missing:
		return &ConfigError{File: keyword, Messages: append(msgs, "invalid environment variable expansion")}
	}
	return &ConfigError{File: keyword, Messages: append(msgs, "percent_dollar_expand: failed")}
}

// dollarExpand is the ${NAME} half of misc.c's vdollar_percent_expand: msgs are its error()
// lines, missing says whether they are about unset variables only (ssh then fails with a
// different line than for a malformed reference).
func dollarExpand(s string, getenv Getenv) (out string, msgs []string, missing bool) {
	if !strings.Contains(s, "${") {
		return s, nil, false
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) || s[i+1] != '{' {
			b.WriteByte(s[i])
			continue
		}
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		switch {
		case end < 0:
			return "", append(msgs, fmt.Sprintf("vdollar_percent_expand: environment variable '%s' missing closing '}'", rest)), false
		case end == 0:
			return "", append(msgs, "vdollar_percent_expand: zero-length environment variable"), false
		}
		name := rest[:end]
		if val, ok := getenv(name); ok {
			b.WriteString(strings.ReplaceAll(val, "%", "%%"))
		} else {
			msgs, missing = append(msgs, fmt.Sprintf("vdollar_percent_expand: env var ${%s} has no value", name)), true
		}
		i += 2 + end
	}
	return b.String(), msgs, missing
}

// LegacyEnvName reports whether an IdentityAgent or ForwardAgent value is "$NAME", the form ssh
// reads as the name of a variable holding the socket's path.
func LegacyEnvName(v string) bool {
	return len(v) > 1 && v[0] == '$' && v[1] != '{'
}

// validEnvName is misc.c's valid_env_name.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// agentPathCheck is readconf.c's check of an IdentityAgent path while parsing, in every block:
// a ${} that cannot be expanded now, or a "$NAME" that is not a name, is a bad line. logged are
// the expansion's own error lines, msg the line's (for lineMsg); "" when the path is good.
// Without the caller's environment only the name is checked.
func agentPathCheck(arg string, getenv Getenv) (logged []string, msg string) {
	if getenv != nil {
		if _, msgs, _ := dollarExpand(arg, getenv); len(msgs) > 0 {
			return msgs, fmt.Sprintf("Invalid environment expansion %s.", arg)
		}
	}
	if LegacyEnvName(arg) && !validEnvName(arg[1:]) {
		return nil, fmt.Sprintf("Invalid environment name %s.", arg)
	}
	return nil, ""
}

// isFlagWord reports whether v is one of the words of ssh's flag table (ForwardAgent takes
// those or a socket path).
func isFlagWord(v string) bool {
	_, ok := sshopt.Multistate("flag", v)
	return ok
}
