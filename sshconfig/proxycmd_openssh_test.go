package sshconfig

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// TestProxyCommandTokensAgainstOpenSSH: Target.ProxyCommand is the command ssh runs, %-tokens
// expanded as ssh expands them, read from ssh -v's "Executing proxy command" line. (ssh -G
// prints the command unexpanded, so the real run is the only witness.) The command is `true`:
// ssh runs it locally and gives up at the banner; nothing connects anywhere.
func TestProxyCommandTokensAgainstOpenSSH(t *testing.T) {
	sshBin := testenv.NeedTool(t, "ssh")
	me, err := user.Current()
	if err != nil {
		testenv.Skip(t, "no current user: %v", err)
	}
	cfg := filepath.Join(t.TempDir(), "config")
	config := `Host alias
  HostName Real.Example.COM
  User cfguser
  Port 2201
Host tok
  HostName %h.Inner.Example
Host *
  ProxyCommand true %h %n %p %r %% '%h' "%n"
`
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		host string
		cli  []string
	}{
		{host: "alias"},
		{host: "Tok"},
		{host: "Plain.Host", cli: []string{"User=cli", "Port=2022"}},
		{host: "10.1.2.3"},
	} {
		args := []string{"-v", "-F", cfg, "-o", "BatchMode=yes"}
		cmdline := Options{}
		for _, kv := range tt.cli {
			args = append(args, "-o", kv)
			k, v, _ := strings.Cut(kv, "=")
			cmdline[strings.ToLower(k)] = []string{v}
		}
		out, _ := exec.Command(sshBin, append(args, tt.host, "true")...).CombinedOutput()
		const marker = "debug1: Executing proxy command: exec "
		var want string
		for _, line := range strings.Split(string(out), "\n") {
			if cmd, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), marker); ok {
				want = cmd
			}
		}
		if want == "" {
			t.Fatalf("%s: ssh -v did not say what it ran:\n%s", tt.host, out)
		}
		opts, err := Resolve(Input{Host: tt.host, Cmdline: cmdline, ConfigFile: cfg, Home: me.HomeDir, LocalUser: me.Username})
		if err != nil {
			t.Fatal(err)
		}
		tg, err := opts.Target(tt.host, me.HomeDir, me.Username)
		if err != nil {
			t.Fatal(err)
		}
		if tg.ProxyCommand != want {
			t.Errorf("%s: ssh runs %q, we say %q", tt.host, want, tg.ProxyCommand)
		}
	}
}
