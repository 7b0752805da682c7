// Package e2e tests fakessh and mitogend end to end: real binaries, a real OpenSSH sshd on
// loopback (package sshdtest), and real rsync.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// binDir holds fakessh, mitogend and the agent builds, made once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if sock := os.Getenv(peercredEnv); sock != "" {
		return peercredChild(sock) // a helper process, not a test run
	}
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: every test skipped under -short (they build the binaries and run sshd)")
		return 0
	}
	dir, err := os.MkdirTemp("", "mitogen-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir = dir
	return m.Run()
}

// buildAll builds the binaries the way the Makefile does.
func buildAll(dir string) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	builds := [][]string{
		{"-o", filepath.Join(dir, "fakessh"), "./cmd/fakessh"},
		{"-o", filepath.Join(dir, "mitogend"), "./cmd/mitogend"},
	}
	for _, b := range builds {
		if err := goBuild(root, nil, b...); err != nil {
			return err
		}
	}
	for _, arch := range []string{runtime.GOARCH} {
		env := []string{"GOOS=linux", "GOARCH=" + arch}
		if err := goBuild(root, env, "-ldflags=-s -w", "-o", filepath.Join(dir, "mitogen-agent.linux-"+arch), "./cmd/mitogen-agent"); err != nil {
			return err
		}
	}
	return nil
}

func goBuild(root string, env []string, args ...string) error {
	cmd := exec.Command("go", append([]string{"build", "-trimpath"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %v: %v\n%s", args, err, out)
	}
	return nil
}

// rig is one sshd and one private daemon socket for one test.
type rig struct {
	t      *testing.T
	srv    *sshdtest.Server
	socket string
	env    []string
}

func newRig(t *testing.T, opts ...sshdtest.Option) *rig {
	t.Helper()
	srv := sshdtest.Start(t, opts...)
	r := attachRig(t, srv.Env())
	r.srv = srv
	return r
}

// attachRig gives a test its own daemon socket; clientEnv is the environment of the programs it
// runs (a HOME whose .ssh/config names the targets).
func attachRig(t *testing.T, clientEnv []string) *rig {
	t.Helper()
	sockDir, err := os.MkdirTemp("", "mg-")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, socket: filepath.Join(sockDir, "d.sock")}
	r.env = append(clientEnv,
		"MITOGEN_SOCKET="+r.socket,
		"MITOGEND="+filepath.Join(binDir, "mitogend"),
		"PATH="+binDir+":"+os.Getenv("PATH"),
	)
	t.Cleanup(func() {
		r.run(nil, filepath.Join(binDir, "mitogend"), "stop", "--socket", r.socket)
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(sockDir, "mitogend.log")); err == nil {
				t.Logf("mitogend.log:\n%s", b)
			}
		}
		os.RemoveAll(sockDir)
	})
	return r
}

// result is one finished command.
type result struct {
	stdout, stderr string
	code           int
}

// fakessh runs fakessh with args against the rig's daemon; "target" names the sshd.
func (r *rig) fakessh(stdin io.Reader, args ...string) result {
	r.t.Helper()
	return r.run(stdin, filepath.Join(binDir, "fakessh"), args...)
}

func (r *rig) run(stdin io.Reader, prog string, args ...string) result {
	r.t.Helper()
	return r.runWith(func(cmd *exec.Cmd) { cmd.Env, cmd.Stdin = r.env, stdin }, prog, args...)
}

// runWith runs prog after setup has adjusted the command (its environment, stdin, process
// attributes; stdout and stderr are collected), for at most three minutes.
func (r *rig) runWith(setup func(*exec.Cmd), prog string, args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	setup(cmd)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		r.t.Fatalf("%s %v: %v", prog, args, err)
	}
	return res
}

// must fails the test unless res exited 0.
func (r *rig) must(res result) result {
	r.t.Helper()
	if res.code != 0 {
		r.t.Fatalf("exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	return res
}

func trim(s string) string { return strings.TrimSpace(s) }
