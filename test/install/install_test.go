// Package install tests the two installed layouts, each used from its installed paths alone
// against a real sshd on loopback: `make install` into a temporary DESTDIR and PREFIX, and the
// Debian package that `make deb` builds, installed into a scratch root by dpkg --root (the
// package's own install and remove, with no chroot: the binaries are static and find each other
// relative to where they are). It builds with the Makefile, so it is slow; skipped under -short.
package install

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// agents is the one agent build the tests make (the Makefile's default builds two).
var agents = "linux-" + runtime.GOARCH

func repoRoot(t *testing.T) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// runMake runs make in the repository with vars, in a BIN of the test's own.
func runMake(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", append([]string{"-s", "BIN=" + bin, "AGENTS=" + agents}, args...)...)
	cmd.Dir = repoRoot(t)
	// Not the flags of a make that runs these tests (make test): its variables would reach this one.
	cmd.Env = cleanEnv(os.Environ(), "PATH="+os.Getenv("PATH"))
	for _, k := range []string{"MAKEFLAGS", "MFLAGS", "MAKELEVEL"} {
		cmd.Env = append(cmd.Env, k+"=")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestMakeInstall(t *testing.T) {
	testenv.SkipShort(t, "make install")
	testenv.NeedTool(t, "make")
	t.Parallel()
	dest, bin := t.TempDir(), t.TempDir()
	runMake(t, bin, "install", "DESTDIR="+dest, "PREFIX=/usr/local")
	prefix := filepath.Join(dest, "usr/local")
	useInstalled(t, prefix)

	runMake(t, bin, "uninstall", "DESTDIR="+dest, "PREFIX=/usr/local")
	if left := filesUnder(t, dest); len(left) > 0 {
		t.Errorf("make uninstall left %v", left)
	}
}

func TestDebianPackage(t *testing.T) {
	testenv.SkipShort(t, "make deb")
	testenv.NeedTool(t, "make")
	testenv.NeedTool(t, "dpkg-deb")
	testenv.NeedTool(t, "dpkg")
	t.Parallel()
	bin := t.TempDir()
	deb := strings.TrimSpace(lastLine(runMake(t, bin, "deb")))
	if filepath.Dir(deb) != bin || !strings.HasPrefix(filepath.Base(deb), "mitogend_") || !strings.HasSuffix(deb, ".deb") {
		t.Fatalf("make deb made %q, want %s/mitogend_*.deb", deb, bin)
	}
	info := run(t, nil, "dpkg-deb", "--field", deb, "Package", "Architecture", "Version")
	if !strings.Contains(info, "Package: mitogend\n") || !strings.Contains(info, "Architecture: "+runtime.GOARCH+"\n") {
		t.Errorf("control fields:\n%s", info)
	}

	root := t.TempDir()
	if os.Geteuid() == 0 {
		// dpkg's own install into an empty database under root: what apt install runs, minus
		// dependency resolution (the package depends on nothing).
		for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
			os.MkdirAll(filepath.Join(root, d), 0o755)
		}
		os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
		run(t, nil, "dpkg", "--root="+root, "--force-unsafe-io", "-i", deb)
	} else {
		run(t, nil, "dpkg-deb", "-x", deb, root) // dpkg --root wants root to chown
	}
	useInstalled(t, filepath.Join(root, "usr"))

	if os.Geteuid() == 0 {
		run(t, nil, "dpkg", "--root="+root, "-r", "mitogend")
		if left := filesUnder(t, filepath.Join(root, "usr")); len(left) > 0 {
			t.Errorf("dpkg -r left %v", left)
		}
	}
}

// TestGoInstall: what the README says for go install works: `go install ./cmd/...` with cgo off
// puts fakessh, mitogend and a mitogen-agent for this platform in GOPATH/bin, and mitogend takes
// that agent (the cross-compiled GOOS_GOARCH/mitogen-agent names are internal/layout's tests).
func TestGoInstall(t *testing.T) {
	testenv.SkipShort(t, "go install")
	testenv.NeedTool(t, "go")
	t.Parallel()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	gopath := t.TempDir()
	cmd := exec.Command("go", "install", "./cmd/...")
	cmd.Dir = repoRoot(t)
	// The module cache stays where it is: nothing is downloaded again.
	cmd.Env = append(os.Environ(), "GOPATH="+gopath, "GOMODCACHE="+strings.TrimSpace(string(out)), "GOBIN=", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	bin := filepath.Join(gopath, "bin")
	useBinaries(t, bin, filepath.Join(bin, "mitogen-agent"), false)
}

// useInstalled runs the binaries under prefix (PREFIX/bin, PREFIX/lib/mitogend, PREFIX/share)
// from there alone (see useBinaries), then ssh through the shim and the manual pages.
func useInstalled(t *testing.T, prefix string) {
	agent := filepath.Join(prefix, "lib/mitogend/mitogen-agent."+agents)
	env, want := useBinaries(t, filepath.Join(prefix, "bin"), agent, true)

	// The shim: ssh found first on PATH is fakessh, for callers that run "ssh".
	shimEnv := cleanEnv(env, "PATH="+filepath.Join(prefix, "lib/mitogend/shim")+":/usr/bin:/bin")
	if out := run(t, shimEnv, "/bin/sh", "-c", "ssh target echo shim"); out != "shim\n" {
		t.Errorf("ssh through the shim: %q", out)
	}
	if v := runStderr(t, shimEnv, "/bin/sh", "-c", "ssh -V"); v != want {
		t.Errorf("ssh -V through the shim: %q, want fakessh's %q", v, want)
	}
	mitogend := filepath.Join(prefix, "bin/mitogend")
	checkManPages(t, filepath.Join(prefix, "share/man/man1"), run(t, env, mitogend, "--help"))
	// The uninstall that follows removes the binary before a cleanup could run it: stop both
	// daemons now, MITOGEN_SOCKET's and the default socket's that the shim's calls started.
	run(t, env, mitogend, "stop")
	run(t, shimEnv, mitogend, "stop")
}

// useBinaries runs fakessh and mitogend in bin with nothing of the build on PATH or in the
// environment: fakessh must find the mitogend beside it, which must find agent (and use it: the
// call needs an agent on the target). It returns the environment and fakessh -V's line.
// stamped says the Makefile built them: the version must then be git describe's.
func useBinaries(t *testing.T, bin, agent string, stamped bool) (env []string, versionLine string) {
	srv := sshdtest.Start(t)
	fakessh, mitogend := filepath.Join(bin, "fakessh"), filepath.Join(bin, "mitogend")
	sock := filepath.Join(t.TempDir(), "mitogen", "d.sock") // fakessh makes the directory 0700
	env = cleanEnv(srv.Env(), "MITOGEN_SOCKET="+sock, "PATH=/usr/bin:/bin")
	t.Cleanup(func() { exec.Command(mitogend, "stop", "--socket", sock).Run() })

	if out := run(t, env, fakessh, "target", "echo hi"); out != "hi\n" {
		t.Fatalf("fakessh target echo hi: %q", out)
	}
	var st proto.Status
	if err := json.Unmarshal([]byte(run(t, env, mitogend, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", st.PID)); exe != mitogend {
		t.Errorf("the daemon fakessh started runs %q, want %s", exe, mitogend)
	}
	if len(st.Connections) != 1 || st.Connections[0].Agent.Arch != runtime.GOARCH {
		t.Errorf("status: %+v", st)
	}

	version := run(t, env, mitogend, "--version")
	if !strings.Contains(version, "agent linux/"+runtime.GOARCH+" "+agent+"\n") {
		t.Errorf("mitogend --version does not name %s:\n%s", agent, version)
	}
	if stamped {
		checkVersion(t, strings.TrimPrefix(firstLine(version), "mitogend "))
	}
	line, details := runStderr(t, env, fakessh, "-V"), runStderr(t, env, fakessh, "-vV")
	want := "OpenSSH_9.2p1 fakessh (mitogend " + strings.TrimPrefix(firstLine(version), "mitogend ") + "), OpenSSL 3.0 compatible\n"
	if line != want {
		t.Errorf("fakessh -V: %q, want %q", line, want)
	}
	if !strings.HasPrefix(details, want) || !strings.Contains(details, "mitogend "+mitogend+"\n") || !strings.Contains(details, agent) {
		t.Errorf("fakessh -vV does not name the mitogend and agent in use:\n%s", details)
	}
	return env, want
}

// checkVersion compares what the binaries say with the checkout they were built from.
func checkVersion(t *testing.T, got string) {
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = repoRoot(t)
	want, err := cmd.Output()
	if err != nil {
		testenv.Skip(t, "git describe: %v", err)
	}
	if got != strings.TrimSpace(string(want)) {
		t.Errorf("mitogend --version says %q, git describe %q", got, want)
	}
}

// checkManPages: fakessh(1)'s synopsis is the usage text fakessh prints, and mitogend(1) lists
// every command that mitogend --help lists.
func checkManPages(t *testing.T, dir, help string) {
	fakessh, mitogend := gunzip(t, filepath.Join(dir, "fakessh.1.gz")), gunzip(t, filepath.Join(dir, "mitogend.1.gz"))
	if !strings.Contains(fakessh, ".TH fakessh 1") || !strings.Contains(fakessh, firstLine(flagparse.Usage)) {
		t.Errorf("fakessh.1 lacks its title or ssh's usage text:\n%s", fakessh)
	}
	_, commands, _ := strings.Cut(help, "COMMANDS:\n")
	commands, _, _ = strings.Cut(commands, "\n\n")
	for _, l := range strings.Split(commands, "\n") {
		name := strings.Trim(strings.Fields(l)[0], ",")
		if name != "help" && !strings.Contains(mitogend, ".SH "+name+"\n") {
			t.Errorf("mitogend.1 has no section for %s (from --help)", name)
		}
	}
}

func gunzip(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cleanEnv is env without anything that points at a build (MITOGEND, MITOGEN_AGENT_DIR, a
// socket), with set appended.
func cleanEnv(env []string, set ...string) []string {
	var out []string
	for _, kv := range env {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MITOGEND", "MITOGEN_AGENT_DIR", "MITOGEN_SOCKET", "XDG_RUNTIME_DIR", "PATH":
			continue
		}
		out = append(out, kv)
	}
	return append(out, set...)
}

func run(t *testing.T, env []string, prog string, args ...string) string {
	t.Helper()
	stdout, _ := runBoth(t, env, prog, args...)
	return stdout
}

func runStderr(t *testing.T, env []string, prog string, args ...string) string {
	t.Helper()
	_, stderr := runBoth(t, env, prog, args...)
	return stderr
}

func runBoth(t *testing.T, env []string, prog string, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstdout: %s\nstderr: %s", prog, args, err, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

// filesUnder lists what is not a directory under dir.
func filesUnder(t *testing.T, dir string) []string {
	var left []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	return left
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
