package sshconfig

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// env lays out a fake home with ~/.ssh/config, extra files under ~/.ssh and
// a system config, and returns the Input pointing at them.
type env struct {
	user   string            // ~/.ssh/config
	system string            // system config
	files  map[string]string // extra files relative to ~/.ssh
}

func (e env) input(t *testing.T, host string, cmdline Options) Input {
	t.Helper()
	home := t.TempDir()
	sshDir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(path, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(sshDir, "config"), e.user)
	sys := filepath.Join(home, "system_config")
	write(sys, e.system)
	for name, text := range e.files {
		write(filepath.Join(sshDir, name), text)
	}
	return Input{Host: host, Cmdline: cmdline, Home: home, LocalUser: "alice", SystemConfig: sys}
}

// resolveCases are configurations Resolve accepts; FuzzResolve starts from them.
var resolveCases = []struct {
	name    string
	env     env
	host    string
	cmdline Options
	config  string // ConfigFile; "" = default files
	want    Options
	absent  []string
}{
	{
		name: "first obtained value wins",
		env:  env{user: "Host web\n  Port 2200\nHost *\n  Port 22\n  User def\n"},
		host: "web",
		want: Options{"port": {"2200"}, "user": {"def"}},
	},
	{
		name: "command line beats files",
		env:  env{user: "Port 2200\nUser fromfile\n"},
		host: "web", cmdline: Options{"port": {"2222"}, "User": {"cli"}},
		want: Options{"port": {"2222"}, "user": {"cli"}},
	},
	{
		name: "user config beats system config",
		env:  env{user: "Host web\n User u\n", system: "User s\nPort 99\n"},
		host: "web",
		want: Options{"user": {"u"}, "port": {"99"}},
	},
	{
		name: "host patterns: several, wildcard, negation",
		env: env{user: "Host db* !db9.* web\n  User one\n" +
			"Host *.example.com\n  Port 1\n"},
		host: "db9.example.com",
		want: Options{"port": {"1"}}, absent: []string{"user"},
	},
	{
		name: "host lines are case sensitive",
		env:  env{user: "Host web\n  User one\n"},
		host: "WEB", absent: []string{"user"},
	},
	{
		name: "keywords are case-insensitive and take = forms",
		env:  env{user: "HOST web\n  uSeR=bob\n  PORT = 2022\n"},
		host: "web",
		want: Options{"user": {"bob"}, "port": {"2022"}},
	},
	{
		name: "quotes and comments",
		env:  env{user: "# top\nIdentityFile \"/k with space\" # trailing\nUserKnownHostsFile '/a b' /c\n"},
		host: "x",
		want: Options{"identityfile": {"/k with space"}, "userknownhostsfile": {"/a b", "/c"}},
	},
	{
		name: "match host uses HostName, originalhost the destination",
		env: env{user: "Host alias\n  HostName Real.Example.com\n" +
			"Match host real.example.com\n  User byhost\n" +
			"Match originalhost alias\n  Port 7\n" +
			"Match host alias\n  ConnectTimeout 9\n"},
		host: "alias",
		want: Options{"user": {"byhost"}, "port": {"7"}}, absent: []string{"connecttimeout"},
	},
	{
		name: "match user sees the command-line user, localuser the local one",
		env: env{user: "Match user admin\n  Port 10\n" +
			"Match localuser alice\n  ConnectTimeout 5\n" +
			"Match !localuser alice\n  BatchMode yes\n"},
		host: "h", cmdline: Options{"user": {"admin"}},
		want: Options{"port": {"10"}, "connecttimeout": {"5"}}, absent: []string{"batchmode"},
	},
	{
		name: "match all and exec",
		env:  env{user: "Match exec true\n  Port 3\nMatch all\n  Port 4\n"},
		host: "h",
		want: Options{"port": {"4"}},
	},
	{
		name: "match final re-reads with the resolved host",
		env: env{user: "Host a\n  HostName B.example\nMatch final host b.example\n  User fin\n" +
			"Match canonical\n  Port 5\n"},
		host: "a",
		want: Options{"user": {"fin"}, "port": {"5"}, "hostname": {"b.example"}},
	},
	{
		name: "identity files accumulate in order without duplicates",
		env: env{user: "IdentityFile ~/.ssh/one\nIdentityFile ~/.ssh/two\n",
			system: "IdentityFile ~/.ssh/one\nIdentityFile /sys\n"},
		host: "h", cmdline: Options{"identityfile": {"/cli key"}},
		want: Options{"identityfile": {"/cli key", "~/.ssh/one", "~/.ssh/two", "/sys"}},
	},
	{
		name: "forwards accumulate in -L form",
		env: env{user: "LocalForward 8080 localhost:80\nLocalForward 8080 localhost:80\n" +
			"RemoteForward 9090\nDynamicForward 1080\n"},
		host: "h", cmdline: Options{"localforward": {"1:h:2"}},
		want: Options{"localforward": {"1:h:2", "8080:localhost:80"},
			"remoteforward": {"9090"}, "dynamicforward": {"1080"}},
	},
	{
		name: "sendenv accumulates and removes, setenv takes the first line",
		env: env{user: "SendEnv LANG LC_*\nSendEnv -LC_*\nSendEnv TZ\n",
			system: "SendEnv EXTRA\nSetEnv A=1 B=2 A=3\nSetEnv C=4\n"},
		host: "h",
		want: Options{"sendenv": {"LANG", "TZ", "EXTRA"}, "setenv": {"A=1", "B=2"}},
	},
	{
		name: "proxyjump first wins over a later proxycommand",
		env:  env{user: "ProxyJump j1,bob@j2:2200\nProxyCommand nc %h %p\n"},
		host: "h",
		want: Options{"proxyjump": {"j1,bob@j2:2200"}}, absent: []string{"proxycommand"},
	},
	{
		name: "proxycommand kept verbatim",
		env:  env{user: "ProxyCommand = ssh -W '%h:%p' jump # c\nProxyJump j\n"},
		host: "h",
		want: Options{"proxycommand": {"ssh -W '%h:%p' jump # c"}}, absent: []string{"proxyjump"},
	},
	{
		name: "include relative to ~/.ssh with glob; state does not leak",
		env: env{user: "Include conf.d/*.conf\nHost other\nInclude late.conf\nHost *\nPort 1\n",
			files: map[string]string{
				"conf.d/a.conf": "User fromA\nHost zzz\nConnectTimeout 3\n",
				"conf.d/b.conf": "BatchMode yes\n",
				"late.conf":     "Compression yes\n",
			}},
		host: "h",
		want: Options{"user": {"fromA"}, "batchmode": {"yes"}, "port": {"1"}},
		// b.conf is read after a.conf's "Host zzz" but starts from the
		// including file's state, so BatchMode applies.
		absent: []string{"connecttimeout", "compression"},
	},
	{
		name:   "-F file is the only file read",
		env:    env{user: "Port 1\n", system: "User s\n", files: map[string]string{"alt": "Port 2\n"}},
		host:   "h",
		config: "~/.ssh/alt",
		want:   Options{"port": {"2"}}, absent: []string{"user"},
	},
	{
		name:   "-F none reads nothing",
		env:    env{user: "Port 1\n", system: "User s\n"},
		host:   "h",
		config: "none",
		absent: []string{"port", "user"},
	},
	{
		name: "command-line values are words already split (flagparse shape)",
		env:  env{user: "UserKnownHostsFile /file\nSetEnv Z=9\nSendEnv FILE\n"},
		host: "h",
		cmdline: Options{"userknownhostsfile": {"/a b", "/c"}, "setenv": {"A=1", "B=x y"},
			"sendenv": {"CLI"}, "proxycommand": {"nc '%h' %p"}},
		want: Options{"userknownhostsfile": {"/a b", "/c"}, "setenv": {"A=1", "B=x y"},
			"sendenv": {"CLI", "FILE"}, "proxycommand": {"nc '%h' %p"}},
	},
	{
		name: "IgnoreUnknown",
		env:  env{user: "IgnoreUnknown UseKeychain,AddKeysToAgentX\nUseKeychain yes\nPort 4\n"},
		host: "h",
		want: Options{"port": {"4"}, "ignoreunknown": {"UseKeychain,AddKeysToAgentX"}},
	},
	{
		name: "aliases fold into canonical keywords",
		env:  env{user: "IdentityFile2 /a\nChallengeResponseAuthentication no\n"},
		host: "h",
		want: Options{"identityfile": {"/a"}, "kbdinteractiveauthentication": {"no"}},
	},
}

func TestResolve(t *testing.T) {
	for _, tt := range resolveCases {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.env.input(t, tt.host, tt.cmdline)
			if strings.HasPrefix(tt.config, "~/") {
				in.ConfigFile = filepath.Join(in.Home, tt.config[2:])
			} else {
				in.ConfigFile = tt.config
			}
			got, err := Resolve(in)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			for k, v := range tt.want {
				if !reflect.DeepEqual(got[k], v) {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.absent {
				if v, ok := got[k]; ok {
					t.Errorf("%s = %q, want unset", k, v)
				}
			}
		})
	}
}

// resolveErrorCases are configurations ssh refuses, with its messages.
var resolveErrorCases = []struct {
	name    string
	user    string
	cmdline Options
	want    []string // FILE is replaced by the config path
}{
	{"bad keyword", "Host x\nBogus 1\n", nil, []string{
		"FILE: line 2: Bad configuration option: bogus",
		"FILE: terminating, 1 bad configuration options"}},
	{"bad value in an inactive block still fails", "Host nomatch\n  Port 0\n", nil, []string{
		"FILE line 2: Bad port '0'.",
		"FILE: terminating, 1 bad configuration options"}},
	{"every bad line is reported", "StrictHostKeyChecking maybe\nConnectTimeout soon\nServerAliveCountMax -1\n", nil, []string{
		`FILE line 1: unsupported option "maybe".`,
		"FILE line 2: invalid time value.",
		"FILE line 3: integer value too small.",
		"FILE: terminating, 3 bad configuration options"}},
	{"missing argument", "User\n", nil, []string{
		`FILE line 1: no argument after keyword "user"`,
		"FILE: terminating, 1 bad configuration options"}},
	{"extra arguments", "User a b\n", nil, []string{
		"FILE line 1: keyword user extra arguments at end of line",
		"FILE: terminating, 1 bad configuration options"}},
	{"bad match", "Match bogus x\n", nil, []string{
		"Unsupported Match attribute bogus",
		"FILE line 1: Bad Match condition",
		"FILE: terminating, 1 bad configuration options"}},
	{"match all combined", "Match all host x\n", nil, []string{
		"FILE line 1: 'all' cannot be combined with other Match attributes",
		"FILE line 1: Bad Match condition",
		"FILE: terminating, 1 bad configuration options"}},
	{"invalid quotes", "User \"bob\n", nil, []string{
		"FILE line 1: invalid quotes",
		"FILE: terminating, 1 bad configuration options"}},
	{"bad forward", "LocalForward 8080\n", nil, []string{
		"FILE line 1: Missing target argument.",
		"FILE: terminating, 1 bad configuration options"}},
	{"none must be alone", "UserKnownHostsFile /a none\n", nil, []string{
		`FILE line 1: keyword userknownhostsfile "none" argument must appear alone.`,
		"FILE: terminating, 1 bad configuration options"}},
	{"bad command-line keyword", "", Options{"bogus": {"1"}}, []string{
		"command-line: line 0: Bad configuration option: bogus"}},
	{"bad command-line value", "", Options{"port": {"abc"}}, []string{
		"command-line line 0: Bad port 'abc'."}},
	{"Host on the command line", "", Options{"host": {"x"}}, []string{
		"Host directive not supported as a command-line option"}},
}

func TestResolveErrors(t *testing.T) {
	for _, tt := range resolveErrorCases {
		t.Run(tt.name, func(t *testing.T) {
			in := env{user: tt.user}.input(t, "h", tt.cmdline)
			_, err := Resolve(in)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Resolve error = %v, want *ConfigError", err)
			}
			file := filepath.Join(in.Home, ".ssh", "config")
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "FILE", file))
			}
			if !reflect.DeepEqual(ce.Messages, want) {
				t.Errorf("messages:\n%s\nwant:\n%s", strings.Join(ce.Messages, "\n"), strings.Join(want, "\n"))
			}
			if !strings.HasPrefix(err.Error(), "sshconfig: "+want[0]) {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestResolveMissingConfigFile(t *testing.T) {
	in := env{}.input(t, "h", nil)
	in.ConfigFile = filepath.Join(in.Home, "nope")
	_, err := Resolve(in)
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
	want := "Can't open user config file " + in.ConfigFile + ": No such file or directory"
	if ce.Messages[0] != want {
		t.Errorf("got %q, want %q", ce.Messages[0], want)
	}
}

func TestResolveBadPermissions(t *testing.T) {
	in := env{user: "Port 1\n"}.input(t, "h", nil)
	cfg := filepath.Join(in.Home, ".ssh", "config")
	if err := os.Chmod(cfg, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err := Resolve(in)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Messages[0] != "Bad owner or permissions on "+cfg {
		t.Fatalf("err = %v", err)
	}
}

func TestResolveIncludeErrorStops(t *testing.T) {
	in := env{user: "Include inc\n", files: map[string]string{"inc": "Nope x\n"}}.input(t, "h", nil)
	_, err := Resolve(in)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	inc := filepath.Join(in.Home, ".ssh", "inc")
	want := []string{inc + ": line 1: Bad configuration option: nope",
		inc + ": terminating, 1 bad configuration options"}
	if !reflect.DeepEqual(ce.Messages, want) {
		t.Errorf("got %q, want %q", ce.Messages, want)
	}
}

func TestUnsupportedOptionIsLogged(t *testing.T) {
	in := env{user: "RSAAuthentication yes\nPort 2\n"}.input(t, "h", nil)
	var logged []string
	in.Logf = func(format string, args ...any) { logged = append(logged, format) }
	got, err := Resolve(in)
	if err != nil || got.Get("port") != "2" {
		t.Fatalf("Resolve = %v, %v", got, err)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "Unsupported option") {
		t.Errorf("logged %q", logged)
	}
}
