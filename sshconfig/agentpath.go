package sshconfig

import (
	"fmt"
	"strings"
)

// ForwardAgentPath is a ForwardAgent socket path expanded as ssh.c expands it before the
// session starts: a leading ~, then ${VAR} from getenv and the %-tokens ControlPath takes
// (default_client_percent_dollar_expand). An unset variable or an unknown token is an error,
// as ssh is fatal on either.
func (t *Target) ForwardAgentPath(p, home, localUser string, getenv func(string) string) (string, error) {
	p, err := tildeExpand(p, home)
	if err != nil {
		return "", err
	}
	if p, err = dollarExpand(p, getenv); err != nil {
		return "", err
	}
	return percentExpand(p, t.dumpTokens(home, localUser))
}

// dollarExpand replaces ${NAME} with NAME's value, as misc.c's dollar_expand does; a "$" not
// followed by "{" is kept as written.
func dollarExpand(s string, getenv func(string) string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("sshconfig: %q: invalid environment variable", s)
		}
		name := s[i+2 : i+end]
		v := getenv(name)
		if v == "" {
			return "", fmt.Errorf("sshconfig: env var ${%s} has no value", name)
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
}
