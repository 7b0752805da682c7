package sshconfig

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// TestAgainstOpenSSH resolves the same files with this package and with
// "ssh -G" and compares the options both report. ssh -G only evaluates
// configuration; it does not connect.
func TestAgainstOpenSSH(t *testing.T) {
	sshBin := testenv.NeedTool(t, "ssh")
	me, err := user.Current()
	if err != nil {
		testenv.Skip(t, "no current user: %v", err)
	}
	dir := t.TempDir()
	inc := filepath.Join(dir, "inc.conf")
	if err := os.WriteFile(inc, []byte("Host web*\n  User incuser\n  SendEnv INC_*\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := `# sample
Host alias
  HostName Web1.Example.COM
  Port 2201
Include ` + inc + `
Host *.example.com !db.example.com
  IdentityFile ~/.ssh/id_%h_%r
  UserKnownHostsFile ~/kh_%h_%p "/tmp/a b"
Match host web1.example.com
  ConnectTimeout 1m
  StrictHostKeyChecking off
Match originalhost alias user incuser
  ServerAliveInterval 20
Host jump
  ProxyJump j1,bob@j2:2200
  ProxyCommand nc %h %p
Host cmd
  ProxyCommand = ssh -W '%h:%p' gw # note
Host *
  SendEnv LANG LC_*
  SendEnv -LC_*
  SetEnv A=1 B=2
  SetEnv C=3
  User = fallback
  Port 22
  StrictHostKeyChecking accept-new
`
	cfgPath := filepath.Join(dir, "config")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		cli  []string // -o key=value pairs, also fed as Cmdline
	}{
		{host: "alias"},
		{host: "web1.example.com"},
		{host: "db.example.com"},
		{host: "jump"},
		{host: "cmd"},
		{host: "*x"}, // Host * matches a '*' too
		{host: "other", cli: []string{"User=cli", "Port=2022", "IdentityFile=/cli"}},
		{host: "web9.example.com", cli: []string{"StrictHostKeyChecking=no"}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			args := []string{"-G", "-F", cfgPath}
			cmdline := Options{}
			for _, kv := range tt.cli {
				args = append(args, "-o", kv)
				k, v, _ := strings.Cut(kv, "=")
				k = strings.ToLower(k)
				cmdline[k] = append(cmdline[k], v)
			}
			out, err := exec.Command(sshBin, append(args, tt.host)...).Output()
			if err != nil {
				t.Fatalf("ssh -G: %v", err)
			}
			ssh := parseDashG(string(out))

			opts, err := Resolve(Input{Host: tt.host, Cmdline: cmdline, ConfigFile: cfgPath,
				Home: me.HomeDir, LocalUser: me.Username})
			if err != nil {
				t.Fatal(err)
			}
			tg, err := opts.Target(tt.host, me.HomeDir, me.Username)
			if err != nil {
				t.Fatal(err)
			}
			ours := map[string][]string{
				"user":                  {tg.User},
				"hostname":              {tg.HostName},
				"port":                  {strconv.Itoa(tg.Port)},
				"connecttimeout":        {secondsOrNone(int(tg.ConnectTimeout.Seconds()))},
				"serveraliveinterval":   {strconv.Itoa(int(tg.ServerAliveInterval.Seconds()))},
				"stricthostkeychecking": {dashGStrict(tg.StrictHostKeyChecking)},
				"sendenv":               opts.All("sendenv"),
				"setenv":                opts.All("setenv"),
				"userknownhostsfile":    {strings.Join(tg.UserKnownHostsFiles, " ")},
				"proxycommand":          nonEmpty(opts.Get("proxycommand")),
				"proxyjump":             nonEmpty(opts.Get("proxyjump")),
			}
			if ids := opts.All("identityfile"); len(ids) > 0 {
				ours["identityfile"] = ids
			}
			for k, v := range ours {
				if !reflect.DeepEqual(ssh[k], v) {
					t.Errorf("%s: ssh -G says %q, we say %q", k, ssh[k], v)
				}
			}
		})
	}
}

func parseDashG(out string) map[string][]string {
	m := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, " ")
		if ok {
			m[k] = append(m[k], v)
		}
	}
	return m
}

func secondsOrNone(s int) string {
	if s == 0 {
		return "none"
	}
	return strconv.Itoa(s)
}

// dashGStrict renders our mode the way ssh -G prints it.
func dashGStrict(mode string) string {
	switch mode {
	case "yes":
		return "true"
	case "no":
		return "false"
	}
	return mode
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// TestDirectoriesAsOpenSSH gives ssh -G and Resolve directories where files are expected: ssh
// opens a directory like a file and reads no line from it, after checking its permissions.
func TestDirectoriesAsOpenSSH(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("ssh not installed")
	}
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	open := filepath.Join(dir, "open")
	for _, d := range []string{sub, open} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct{ name, config string }{
		{"-F a directory", sub},
		{"Include a directory", write("inc-dir", "Include "+sub+"\nPort 7\n")},
		{"Include a glob matching a directory", write("inc-glob", "Include "+dir+"/s*\nPort 8\n")},
		{"Include a writable directory", write("inc-open", "Include "+open+"\nPort 9\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(sshBin, "-G", "-F", tt.config, "h")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, sshErr := cmd.Output()
			opts, err := Resolve(Input{Host: "h", ConfigFile: tt.config, Home: dir, LocalUser: "alice"})
			if sshErr != nil {
				var ce *ConfigError
				if !errors.As(err, &ce) || !strings.Contains(stderr.String(), strings.Join(ce.Messages, "\n")) {
					t.Fatalf("ssh -G failed with %q; Resolve = %v", stderr.String(), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ssh -G accepts it; Resolve: %v", err)
			}
			port := opts.Get("port")
			if port == "" {
				port = "22"
			}
			if ssh := parseDashG(string(out))["port"]; !reflect.DeepEqual(ssh, []string{port}) {
				t.Errorf("port: ssh -G says %q, we say %q", ssh, port)
			}
		})
	}
}
