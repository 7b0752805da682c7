package bootstrap

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/internal/shquote"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// agentEnv set to "1" makes this test binary, once stage 0 has run it, play the agent.
const agentEnv = "MITOGEN_BOOTSTRAP_TEST_AGENT"

func TestMain(m *testing.M) {
	if os.Getenv(agentEnv) == "1" {
		os.Exit(testAgent())
	}
	os.Exit(m.Run())
}

// testAgent does what an agent does first, saying in its hello how it was started and the
// environment of the process its argument names, then reports the ids it was given and exits.
func testAgent() int {
	exe, _ := os.Readlink("/proc/self/exe")
	info := map[string]string{"exe": exe, "argv0": os.Args[0]}
	if len(os.Args) == 2 {
		b, err := os.ReadFile("/proc/" + os.Args[1] + "/environ")
		info["environ"] = string(b)
		if err != nil {
			info["environ"] = err.Error()
		}
	}
	if err := router.WriteHello(os.Stdout, router.Hello{Info: info}); err != nil {
		return 1
	}
	h, err := router.ReadHello(os.Stdin)
	if err != nil {
		return 1
	}
	fmt.Printf("context %d parent %d\n", h.ID, h.Parent)
	return 0
}

// shells are the login shells Command must work under. rc is a startup file the shell reads for
// "-c" (relative to HOME), made to print a line before the platform line; sh and bash read none.
var shells = []struct {
	name, rc string
}{
	{"sh", ""},
	{"dash", ""},
	{"bash", ""},
	{"zsh", ".zshenv"},
	{"fish", ".config/fish/config.fish"},
	{"tcsh", ".tcshrc"},
	{"bsd-csh", ".cshrc"}, // Debian's csh package: the BSD csh, /bin/csh unless tcsh took the name
}

// TestCommandUnderEveryShell runs Command as sshd and su do, `<login shell> -c Command()`, and as
// sudo then the login shell do, the shell running `/bin/sh -c` with Command quoted once more; the
// near end is Run, the agent this test binary. Every run must reach the agent's hello and its
// answer, from a memfd, with what the rc file printed skipped.
func TestCommandUnderEveryShell(t *testing.T) {
	for _, sh := range shells {
		path := testenv.NeedTool(t, sh.name)
		home := t.TempDir()
		var want []string
		if sh.rc != "" {
			want = []string{"rc: " + sh.name}
			writeRC(t, filepath.Join(home, sh.rc), "echo 'rc: "+sh.name+"'\n")
		}
		for _, nested := range []bool{false, true} {
			name, command := sh.name, Command()
			if nested {
				name, command = sh.name+" then sh", "/bin/sh -c "+shquote.Quote(Command())
			}
			t.Run(name, func(t *testing.T) {
				got := runStage0(t, exec.Command(path, "-c", command), home, os.Getenv("PATH"))
				if got.skipped != strings.Join(want, "|") {
					t.Errorf("skipped %q, want what the rc file printed: %q", got.skipped, want)
				}
				if !strings.HasPrefix(got.exe, "/memfd:mitogen-agent") {
					t.Errorf("agent ran from %q, want a memfd", got.exe)
				}
				// Nested, the shell running Command is the sh that the login shell started,
				// with what the login shell exported.
				if !nested && !got.pristine {
					t.Errorf("agent's argument names a process whose environment is %q, want the shell's own", got.environ)
				}
			})
		}
	}
}

// TestCommandFallbacks: without perl the agent runs from a temporary file, unlinked before it
// starts; without gzip it is sent plain.
func TestCommandFallbacks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tools   []string
		memfd   bool
		gzipped bool
	}{
		{"no perl", []string{"gzip"}, false, true},
		{"no gzip", []string{"perl"}, true, false},
		{"neither", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tools := append([]string{"uname", "head", "cat", "mktemp", "chmod", "rm"}, tc.tools...)
			tmp := t.TempDir()
			cmd := exec.Command("/bin/sh", "-c", Command())
			cmd.Env = []string{"TMPDIR=" + tmp}
			got := runStage0(t, cmd, t.TempDir(), onlyTools(t, tools...))
			if got.platform.Gzip != tc.gzipped {
				t.Errorf("platform %+v, want gzip %v", got.platform, tc.gzipped)
			}
			if memfd := strings.HasPrefix(got.exe, "/memfd:"); memfd != tc.memfd {
				t.Errorf("agent ran from %q, want memfd %v", got.exe, tc.memfd)
			}
			if !tc.memfd && !(strings.HasPrefix(got.exe, tmp+"/.mitogen-agent.") && strings.HasSuffix(got.exe, " (deleted)")) {
				t.Errorf("agent ran from %q, want an unlinked file in TMPDIR", got.exe)
			}
			if !got.pristine {
				t.Errorf("agent's argument names a process whose environment is %q, want the shell's own", got.environ)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left in TMPDIR: %v", left)
			}
		})
	}
}

// TestCommandIsOneSafeLine holds stage 0 and Command to what every shell reads the same inside
// single quotes, so that Command can be quoted again (ShellQuote) for another shell.
func TestCommandIsOneSafeLine(t *testing.T) {
	if strings.Contains(stage0, "'") {
		t.Errorf("stage 0 has a single quote: Command would need to end its quoting")
	}
	for what, s := range map[string]string{"stage 0": stage0, "Command": Command()} {
		for _, bad := range []string{"\n", "!", `\\`, `\'`} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", what, bad)
			}
		}
	}
}

// stage0Result is what one run of stage 0 showed.
type stage0Result struct {
	platform Platform
	skipped  string // the lines before the platform line, joined by "|"
	exe      string // the agent's /proc/self/exe
	environ  string // the environment of the process the agent's argument names
	pristine bool   // environ is the one the shell running Command was given, in its order
}

// runStage0 runs cmd (a shell running Command) with HOME and PATH as given, an environment that
// is otherwise cmd.Env's, and plays Run's near end against it with this binary as the agent.
func runStage0(t *testing.T, cmd *exec.Cmd, home, path string) stage0Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd.Env = append(cmd.Env, "HOME="+home, "PATH="+path, agentEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := context.AfterFunc(ctx, func() { cmd.Process.Kill() })
	defer stop()
	var res stage0Result
	var skipped []string
	agents := func(p Platform) ([]byte, bool, error) {
		res.platform = p
		return testAgentBuild(t, p.Gzip), p.Gzip, nil
	}
	br := bufio.NewReaderSize(r, MaxPreamble)
	hello, _, err := Run(br, w, agents, 7, 1, func(s string) { skipped = append(skipped, s) })
	if err != nil {
		cmd.Wait()
		t.Fatalf("%v\nstderr: %s", err, stderr.String())
	}
	line, _ := br.ReadString('\n')
	if err := cmd.Wait(); err != nil || line != "context 7 parent 1\n" {
		t.Fatalf("agent said %q after its hello, exit %v\nstderr: %s", line, err, stderr.String())
	}
	if hello.Info["argv0"] != "mitogen-agent" && !strings.HasSuffix(hello.Info["argv0"], "/fd/3") {
		t.Errorf("agent's argv[0] is %q", hello.Info["argv0"])
	}
	res.pristine = hello.Info["environ"] == strings.Join(cmd.Env, "\x00")+"\x00"
	res.skipped, res.exe, res.environ = strings.Join(skipped, "|"), hello.Info["exe"], hello.Info["environ"]
	return res
}

var agentBuild struct {
	once        sync.Once
	plain, gzip []byte
	err         error
}

// testAgentBuild is this test binary, gzip-compressed or not.
func testAgentBuild(t *testing.T, compressed bool) []byte {
	agentBuild.once.Do(func() {
		exe, err := os.Executable()
		if err == nil {
			agentBuild.plain, err = os.ReadFile(exe)
		}
		var b bytes.Buffer
		if err == nil {
			z, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
			_, err = z.Write(agentBuild.plain)
			if cerr := z.Close(); err == nil {
				err = cerr
			}
		}
		agentBuild.gzip, agentBuild.err = b.Bytes(), err
	})
	if agentBuild.err != nil {
		t.Fatal(agentBuild.err)
	}
	if compressed {
		return agentBuild.gzip
	}
	return agentBuild.plain
}

// onlyTools is a PATH holding only the named programs.
func onlyTools(t *testing.T, names ...string) string {
	dir := t.TempDir()
	for _, n := range names {
		if err := os.Symlink(testenv.NeedTool(t, n), filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeRC(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
