package flagparse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// probeScript prints, NUL-terminated, who and where it runs and its arguments.
const probeScript = `#!/bin/sh
printf 'user=%s\0' "$(id -un)"
printf 'group=%s\0' "$(id -gn)"
printf 'groups=%s\0' "$(id -Gn)"
printf 'pwd=%s\0' "$(pwd)"
printf 'home=%s\0' "${HOME-}"
printf 'mark=%s\0' "${MITOGEN_MARK-<unset>}"
for a do printf 'arg=%s\0' "$a"; done
`

// outerMark is MITOGEN_MARK in the tool's own environment.
const outerMark = "outer"

// realRig is a user and a group made for one test, and the probe.
type realRig struct {
	user, group, probe string
}

func newRealRig(t *testing.T, tag string) *realRig {
	t.Helper()
	testenv.NeedRoot(t, "creating a test user")
	for _, tool := range []string{"useradd", "userdel", "groupadd", "groupdel"} {
		testenv.NeedTool(t, tool)
	}
	r := &realRig{user: fmt.Sprintf("mgfp%s%d", tag, os.Getpid()), group: fmt.Sprintf("mgfg%s%d", tag, os.Getpid())}
	mustRun(t, "groupadd", r.group)
	t.Cleanup(func() { mustRun(t, "groupdel", r.group) })
	mustRun(t, "useradd", "-m", "-U", "-s", "/bin/sh", r.user)
	t.Cleanup(func() { mustRun(t, "userdel", "-r", r.user) })

	dir, err := os.MkdirTemp("", "mgfp-probe")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r.probe = filepath.Join(dir, "probe")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.probe, []byte(probeScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Errorf("%s %q: %v: %s", name, args, err, out)
	}
}

func (r *realRig) subst(w string) string {
	return strings.NewReplacer("PROBE", r.probe, "TUSER", r.user, "TGROUP", r.group).Replace(w)
}

func (r *realRig) substAll(ws []string) []string {
	if ws == nil {
		return nil
	}
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = r.subst(w)
	}
	return out
}

func (r *realRig) home(user string) string {
	if user == "root" {
		return "/root"
	}
	return "/home/" + user
}

// realRun is what the real tool did with one command line.
type realRun struct {
	stdout, stderr string
	code           int
	probe          map[string]string
	args           []string
}

func (r *realRig) run(t *testing.T, argv []string) realRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = "/"
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
		"SHELL=/bin/sh", "LANG=C.UTF-8", "MITOGEN_MARK=" + outerMark,
		"EDITOR=/bin/true", "VISUAL=/bin/true", "SUDO_EDITOR=/bin/true",
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := realRun{stdout: stdout.String(), stderr: stderr.String(), probe: map[string]string{}}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%q: %v", argv, err)
	}
	for _, rec := range strings.Split(res.stdout, "\x00") {
		k, v, ok := strings.Cut(rec, "=")
		switch {
		case !ok:
		case k == "arg":
			res.args = append(res.args, v)
		default:
			res.probe[k] = v
		}
	}
	return res
}

// refused is how each tool says it will not take a command line (for
// doas and su, also the user no lookup can find: an empty name).
func (res realRun) refused(method string) bool {
	if res.code != 1 {
		return false
	}
	switch method {
	case "sudo":
		return strings.Contains(res.stderr, "usage: sudo")
	case "su":
		return strings.Contains(res.stderr, "Try 'su --help'") || strings.Contains(res.stderr, "mutually exclusive") ||
			strings.Contains(res.stderr, "su: user  does not exist")
	case "doas":
		return strings.Contains(res.stderr, "usage: doas") || res.stderr == "doas: unknown user\n"
	}
	return false
}

// compareWithReal runs every case through the real tool and checks that
// it refuses exactly the usage errors and, for the honoured cases, runs
// the command as the user, group, directory and environment the Become
// says, with the arguments it says.
func (r *realRig) compareWithReal(t *testing.T, cases []becomeCase) {
	for _, c := range cases {
		argv := r.substAll(c.argv)
		b, err := ParseBecome(argv)
		res := r.run(t, argv)
		method := filepath.Base(argv[0])
		switch {
		case errors.Is(err, ErrUsage):
			if !res.refused(method) {
				t.Errorf("%q: we refuse (%v), the real %s does not (exit %d, stderr %q)", argv, err, method, res.code, res.stderr)
			}
		case res.refused(method):
			t.Errorf("%q: the real %s refuses (%q); we say %v", argv, method, res.stderr, err)
		case err == nil:
			r.checkHonoured(t, argv, c, b, res)
		}
	}
}

func (r *realRig) checkHonoured(t *testing.T, argv []string, c becomeCase, b *Become, res realRun) {
	t.Helper()
	if b.Method != "su" && b.Command[0] != r.probe {
		if want := b.Command[0] + ": command not found"; !strings.Contains(res.stderr, want) {
			t.Errorf("%q: the real %s says %q; want %q", argv, b.Method, res.stderr, want)
		}
		return
	}
	if b.Method == "su" && !strings.HasPrefix(b.ShellCommand, r.probe) {
		if res.code != 0 || res.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; want a silent success", argv, res.code, res.stdout)
		}
		return
	}
	if res.code != 0 {
		t.Errorf("%q: exit %d, stderr %q", argv, res.code, res.stderr)
		return
	}
	for k, v := range r.expectProbe(b) {
		if res.probe[k] != v {
			t.Errorf("%q: %s = %q; the Become says %q", argv, k, res.probe[k], v)
		}
	}
	for _, g := range b.SuppGroups {
		if !slices.Contains(strings.Fields(res.probe["groups"]), g) {
			t.Errorf("%q: groups %q lack %q", argv, res.probe["groups"], g)
		}
	}
	wantArgs := r.substAll(c.probe)
	if c.probe == nil && b.Method != "su" {
		wantArgs = b.Command[1:]
	}
	if len(wantArgs) == 0 {
		wantArgs = nil
	}
	if !reflect.DeepEqual(res.args, wantArgs) {
		t.Errorf("%q: the command got %q; want %q", argv, res.args, wantArgs)
	}
}

// expectProbe is what the probe must report for b, derived from b alone.
func (r *realRig) expectProbe(b *Become) map[string]string {
	want := map[string]string{"user": b.User, "pwd": "/"}
	group := b.Group
	if group == "" && len(b.SuppGroups) > 0 {
		group = b.SuppGroups[0] // su: the first -G becomes the primary group
	}
	if group == "" {
		group = b.User // useradd -U, and root's group is root
	}
	want["group"] = group
	home := r.home(b.User)
	if b.Login {
		want["pwd"] = home
	}
	if b.Dir != "" {
		want["pwd"] = b.Dir
	}
	preserved := slices.Contains(b.PreserveEnvList, "MITOGEN_MARK")
	switch b.Method {
	case "sudo":
		if b.Login || b.SetHome {
			want["home"] = home
		}
		want["mark"] = "<unset>"
		if b.PreserveEnv || preserved {
			want["mark"] = outerMark
		}
		for _, e := range b.Env {
			if v, ok := strings.CutPrefix(e, "MITOGEN_MARK="); ok {
				want["mark"] = v
			}
		}
	case "su":
		want["home"] = home
		if b.PreserveEnv {
			want["home"] = "/root"
		}
		want["mark"] = outerMark
		if b.Login && !preserved {
			want["mark"] = "<unset>"
		}
	case "doas":
		want["home"] = home
		want["mark"] = "<unset>"
	}
	return want
}

func TestSudoMatchesRealSudo(t *testing.T) {
	testenv.NeedTool(t, "sudo")
	r := newRealRig(t, "s")
	// sudoers allows -D only for a directory runcwd names ("*": any).
	installFile(t, fmt.Sprintf("/etc/sudoers.d/mitogen-flagparse-%d", os.Getpid()), "Defaults runcwd=*\n", 0o440)
	r.compareWithReal(t, sudoCases)
}

func TestSuMatchesRealSu(t *testing.T) {
	testenv.NeedTool(t, "su")
	r := newRealRig(t, "u")
	r.compareWithReal(t, suCases)
}

func TestDoasMatchesRealDoas(t *testing.T) {
	testenv.NeedTool(t, "doas")
	r := newRealRig(t, "d")
	installFile(t, "/etc/doas.conf", "permit nopass root\n", 0o600)
	r.compareWithReal(t, doasCases)
}

// installFile writes path for the test and puts back what was there
// (or nothing) afterwards.
func installFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	old, err := os.ReadFile(path)
	had := err == nil
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if had {
			err = os.WriteFile(path, old, mode)
		} else {
			err = os.Remove(path)
		}
		if err != nil {
			t.Errorf("restoring %s: %v", path, err)
		}
	})
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}
