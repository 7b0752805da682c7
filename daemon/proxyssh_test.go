package daemon

import (
	"reflect"
	"testing"
)

// ssh -W in a ProxyCommand is recognised in its usual spellings; anything else, or anything
// that would have that ssh do more than the stdio forward, runs as a process.
func TestParseStdioProxy(t *testing.T) {
	for _, tt := range []struct {
		command  string
		ok       bool
		host     string
		addr     string
		config   map[string][]string
		confFile string
	}{
		{command: "ssh -W 10.0.0.2:22 bastion", ok: true, host: "bastion", addr: "10.0.0.2:22"},
		{command: "ssh -W '[10.0.0.2]:22' bastion", ok: true, host: "bastion", addr: "10.0.0.2:22"},
		{command: "ssh -W [fe80::1]:2222 bastion", ok: true, host: "bastion", addr: "[fe80::1]:2222"},
		{command: "/usr/bin/ssh -q -W h:22 bastion", ok: true, host: "bastion", addr: "h:22"},
		{command: "exec ssh -W h:22 bastion"}, // "exec exec ssh" fails under sh, and so must this
		{command: "/opt/bin/fakessh bastion -W h:22", ok: true, host: "bastion", addr: "h:22"},
		{command: `ssh -F "/tmp/a b/cfg" -l bob -p 2200 -o 'User alice' -W h:22 bastion # via b`, ok: true,
			host: "bastion", addr: "h:22", confFile: "/tmp/a b/cfg",
			config: map[string][]string{"user": {"bob"}, "port": {"2200"}}},
		{command: "ssh -J j1 -W h:22 bastion", ok: true, host: "bastion", addr: "h:22",
			config: map[string][]string{"proxyjump": {"j1"}, "proxycommand": {"none"}}},
		{command: "ssh -i k -W h:22 bastion", ok: true, host: "bastion", addr: "h:22",
			config: map[string][]string{"identityfile": {"k"}}},
		{command: "nc h 22"},
		{command: "ssh bastion nc h 22"},
		{command: "ssh -W h:22 bastion true"},
		{command: "ssh -L 1:h:2 -W h:22 bastion"},
		{command: "ssh -A -W h:22 bastion"},
		{command: "ssh -f -W h:22 bastion"},
		{command: "ssh -W h:22"},
		{command: "ssh -W 22 bastion"},
		{command: "ssh -W h:22 bastion; echo"},
		{command: "ssh -W h:22 $BASTION"},
		{command: "ssh -W h:22 `bastion`"},
		{command: "ssh -W h:22 bastion 2>/dev/null"},
		{command: "FOO=1 ssh -W h:22 bastion"},
		{command: "ssh -W h:22 ~/bastion"},
		{command: "ssh -W h:22 'bastion"},
		{command: "sshx -W h:22 bastion"},
	} {
		got, ok := parseStdioProxy(tt.command)
		if ok != tt.ok {
			t.Errorf("%q: recognised %v, want %v", tt.command, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if got.host != tt.host || got.addr != tt.addr || got.configFile != tt.confFile {
			t.Errorf("%q: host %q addr %q -F %q", tt.command, got.host, got.addr, got.configFile)
		}
		for k, v := range tt.config {
			if !reflect.DeepEqual(got.config[k], v) {
				t.Errorf("%q: %s = %q, want %q", tt.command, k, got.config[k], v)
			}
		}
	}
}

func TestShellWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{`a  b	c`, []string{"a", "b", "c"}},
		{`a'b c'd`, []string{"ab cd"}},
		{`"a \"b\" \\ \x"`, []string{`a "b" \ \x`}},
		{`a\ b`, []string{"a b"}},
		{`a '' b`, []string{"a", "", "b"}},
		{`a b#c # d`, []string{"a", "b#c"}},
		{`c a=b`, []string{"c", "a=b"}},
		{`"a b"c d`, []string{"a bc", "d"}},
	}
	for _, tt := range cases {
		got, ok := shellWords(tt.in)
		if !ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %q %v, want %q", tt.in, got, ok, tt.want)
		}
	}
	for _, bad := range []string{`a | b`, `a && b`, `a $x`, `"a $x"`, "a `b`", `a > f`, "a\nb", `a=b c`, `a "b`, `a *`, `(a)`} {
		if got, ok := shellWords(bad); ok {
			t.Errorf("%q: split into %q, want a refusal", bad, got)
		}
	}
}
