package sshconfig

import (
	"strings"
	"testing"
)

func TestForwardAgentPath(t *testing.T) {
	env := map[string]string{"SOCK": "/run/a.sock", "D": "/run"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tg := &Target{Host: "alias", HostName: "h.example", Port: 2222, User: "bob"}
	cases := []struct{ in, want, err string }{
		{in: "/plain/path", want: "/plain/path"},
		{in: "~/agent", want: "/home/me/agent"},
		{in: "${SOCK}", want: "/run/a.sock"},
		{in: "${D}/%r@%h:%p", want: "/run/bob@h.example:2222"},
		{in: "$SOCK", want: "$SOCK"}, // the legacy form is the caller's to resolve, as ssh.c does
		{in: "100%%", want: "100%"},
		{in: "${NOPE}/x", err: "env var ${NOPE} has no value"},
		{in: "${SOCK", err: "environment variable 'SOCK' missing closing '}'"},
		{in: "/x/%z", err: "unknown key %z"},
	}
	for _, c := range cases {
		got, err := tg.ForwardAgentPath(c.in, "/home/me", "me", getenv)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: err %v, want %q", c.in, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
