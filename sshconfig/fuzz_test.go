package sshconfig

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// resolveFuzzTimeout bounds one input; reaching it means Resolve hung.
const resolveFuzzTimeout = 5 * time.Second

// FuzzResolve resolves arbitrary configuration text for an arbitrary host and command line.
// The text is the -F file; the relative includes it names resolve in a fake home whose ~/.ssh
// holds a second fuzzed text twice (inc and conf.d/a.conf) beside a directory (conf.d).
// Resolve must not panic or hang, fail only with a *ConfigError carrying ssh's messages, and
// be deterministic; what it accepts must not make Target, Dump's listing or Forwards panic.
func FuzzResolve(f *testing.F) {
	for _, tc := range resolveCases {
		f.Add(tc.env.user+tc.env.system, joinFiles(tc.env.files), tc.host, encodeCmdline(tc.cmdline))
	}
	for _, tc := range resolveErrorCases {
		f.Add(tc.user, "", "h", encodeCmdline(tc.cmdline))
	}
	for _, cfg := range []string{"Include inc\nPort 1\n", "Include conf.d/* *\nHost h\nInclude ~/.ssh/inc\n",
		"Match final host h\nInclude inc\n", "Include conf.d\nInclude ~\nInclude [\n", "Host x\nInclude inc\nUser y\n"} {
		f.Add(cfg, "Host h\nUser inc\nMatch host nope\nPort 2\n", "h", "")
	}
	home := filepath.Join(f.TempDir(), "home")
	sshDir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(filepath.Join(sshDir, "conf.d"), 0o700); err != nil {
		f.Fatal(err)
	}
	cfg := filepath.Join(filepath.Dir(home), "config") // outside ~/.ssh: no include reaches it
	f.Fuzz(func(t *testing.T, config, included, host, cmdline string) {
		if !includesStayHome(config) || hasInclude(included) {
			return // see includesStayHome
		}
		for path, text := range map[string]string{cfg: config, filepath.Join(sshDir, "inc"): included,
			filepath.Join(sshDir, "conf.d", "a.conf"): included} {
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		in := Input{Host: host, Cmdline: decodeCmdline(cmdline), ConfigFile: cfg, Home: home, LocalUser: "alice",
			Logf: func(format string, args ...any) { _ = fmt.Sprintf(format, args...) }}
		o, err := resolveBounded(t, in)
		if err != nil {
			checkConfigError(t, err)
			return
		}
		if again, err := Resolve(in); err != nil || !reflect.DeepEqual(again, o) {
			t.Fatalf("Resolve is not deterministic: %v then %v, %v", o, again, err)
		}
		for k := range o {
			if kw, ok := lookup(k); !ok || kw.name != k {
				t.Fatalf("option %q is not a canonical keyword", k)
			}
		}
		for _, k := range []string{"localforward", "remoteforward", "dynamicforward"} {
			if n, m := len(o.Forwards(k)), len(o.All(k)); n != m {
				t.Fatalf("%s: %d of the %d values Resolve accepted do not parse", k, m-n, m)
			}
		}
		tg, err := o.Target(host, home, "alice")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "sshconfig: ") {
				t.Fatalf("Target error %q lacks the package prefix", err)
			}
			return
		}
		var b bytes.Buffer
		writeDump(&b, o, tg, home, "alice")
	})
}

// resolveBounded is Resolve that fails the test instead of hanging.
func resolveBounded(t *testing.T, in Input) (Options, error) {
	t.Helper()
	type result struct {
		o   Options
		err error
	}
	done := make(chan result, 1)
	go func() {
		o, err := Resolve(in)
		done <- result{o, err}
	}()
	select {
	case r := <-done:
		return r.o, r.err
	case <-time.After(resolveFuzzTimeout):
		t.Fatalf("Resolve still running after %v", resolveFuzzTimeout)
		return nil, nil
	}
}

func checkConfigError(t *testing.T, err error) {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %T %v is not a *ConfigError", err, err)
	}
	if len(ce.Messages) == 0 {
		t.Fatalf("ConfigError %v has no message for ssh to print", err)
	}
	for _, m := range ce.Messages {
		if m == "" || strings.Contains(m, "\n") {
			t.Fatalf("ConfigError message %q is not one line", m)
		}
	}
	if !strings.HasPrefix(err.Error(), "sshconfig: "+ce.Messages[0]) {
		t.Fatalf("Error() = %q, want it to start with the first message", err)
	}
}

// includesStayHome reports whether every Include of text resolves inside the fake home: the
// fuzzer must not read /dev/zero, another user's files or the machine's ssh configuration.
// Relative paths resolve in ~/.ssh, which holds only the fuzzed include files.
func includesStayHome(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		if name, rest := sshopt.SplitLine(line); name == "include" {
			args, _ := sshopt.SplitArgs(rest)
			for _, a := range args {
				tilde := strings.HasPrefix(a, "~")
				if filepath.IsAbs(a) || strings.Contains(a, "..") || tilde && a != "~" && !strings.HasPrefix(a, "~/") {
					return false
				}
			}
		}
	}
	return true
}

// hasInclude reports whether text has an Include line. The included text may not include:
// "Include inc inc" there would read 2^16 files before the depth limit stops it, as in ssh.
func hasInclude(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		if name, _ := sshopt.SplitLine(line); name == "include" {
			return true
		}
	}
	return false
}

func joinFiles(files map[string]string) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(files[n])
	}
	return b.String()
}

// encodeCmdline writes command-line options one per line, values separated by NUL.
func encodeCmdline(o Options) string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "\x00" + strings.Join(o[k], "\x00") + "\n")
	}
	return b.String()
}

func decodeCmdline(s string) Options {
	if s == "" {
		return nil
	}
	o := Options{}
	for _, line := range strings.Split(s, "\n") {
		if kv := strings.Split(line, "\x00"); kv[0] != "" {
			o[kv[0]] = append(o[kv[0]], kv[1:]...)
		}
	}
	return o
}
