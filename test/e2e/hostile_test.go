package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// The daemon must stay under this peak RSS while a target attacks it (issue: "hostile target").
const maxDaemonRSS = 256 << 20

var (
	hostileOnce sync.Once
	hostileDir  string
	hostileErr  error
)

// hostileAgentDir builds test/hostile as the agent for this machine's platform, in a directory
// of its own that a daemon is pointed at with MITOGEN_AGENT_DIR. Without its mode file on a
// target the build is the real agent, so honest targets of the same daemon use it too.
func hostileAgentDir(t *testing.T) string {
	t.Helper()
	hostileOnce.Do(func() {
		hostileDir = filepath.Join(binDir, "hostile")
		root, _ := filepath.Abs("../..")
		hostileErr = goBuild(root, []string{"GOOS=linux", "GOARCH=" + runtime.GOARCH}, "-ldflags=-s -w",
			"-o", filepath.Join(hostileDir, "mitogen-agent.linux-"+runtime.GOARCH), "./test/hostile")
	})
	if hostileErr != nil {
		t.Fatal(hostileErr)
	}
	return hostileDir
}

// fleet is one daemon serving several sshd targets, each under its own Host alias.
type fleet struct {
	*rig
	srv map[string]*sshdtest.Server
}

// newFleet starts an sshd per alias; modes[alias] is the hostile agent's mode on that target
// ("" for an honest agent).
// hostileOnPath keeps every command on the agent's path: the hostile agent acts when it is
// given a command, and a plain command on a direct target would otherwise run on an SSH session
// channel of its own, where the agent never sees it.
const hostileOnPath = "MITOGEN_SESSION_EXEC=0"

func newFleet(t *testing.T, modes map[string]string, opts map[string][]sshdtest.Option) *fleet {
	t.Helper()
	f := &fleet{srv: map[string]*sshdtest.Server{}}
	home := t.TempDir()
	var cfg strings.Builder
	for alias, mode := range modes {
		s := sshdtest.Start(t, opts[alias]...)
		f.srv[alias] = s
		if mode != "" {
			writeFile(t, filepath.Join(s.Home, ".mitogen-hostile"), mode)
		}
		writeFile(t, filepath.Join(s.Home, "who"), alias+"\n")
		fmt.Fprintf(&cfg, "Host %s\n  HostName %s\n  Port %d\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n",
			alias, s.Host, s.Port, s.User, s.ClientKey, s.KnownHosts)
	}
	writeFile(t, filepath.Join(home, ".ssh", "config"), cfg.String())
	var any *sshdtest.Server
	for _, s := range f.srv {
		any = s
	}
	// A server's client environment, with the fleet's HOME instead (the last HOME= counts).
	env := append(any.Env(), "HOME="+home, "MITOGEN_AGENT_DIR="+hostileAgentDir(t), hostileOnPath)
	f.rig = attachRig(t, env)
	return f
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// daemonLog is the log the daemon that fakessh started writes beside its socket.
func (r *rig) daemonLog() string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(r.socket), "mitogend.log"))
	return string(b)
}

// waitLog polls the daemon's log until it holds want, for at most a minute.
func (r *rig) waitLog(want string) {
	r.t.Helper()
	r.waitLogCount(want, 1)
}

// waitLogCount waits (a minute at most) until the daemon's log holds want n times.
func (r *rig) waitLogCount(want string, n int) {
	r.t.Helper()
	deadline := time.After(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond) // a log file gives no event to wait on
	defer tick.Stop()
	for strings.Count(r.daemonLog(), want) < n {
		select {
		case <-deadline:
			r.t.Fatalf("the daemon logged %q fewer than %d times; log:\n%s", want, n, r.daemonLog())
		case <-tick.C:
		}
	}
}

// peakRSS is the daemon's high-water resident set (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 { return procStatusBytes(t, pid, "VmHWM:") }

// TestHostileTargetCannotAnswerForOthers: while a target sweeps every client id and handle with
// forged answers (Replies naming itself as the context to use, Dead notices, the same spoofed as
// coming from the daemon, Disconnects of others), opens exec streams on other contexts and calls
// the daemon's services, every call to the honest target runs there, byte-exact, and nothing
// runs anywhere on the attacker's say.
func TestHostileTargetCannotAnswerForOthers(t *testing.T) {
	f := newFleet(t, map[string]string{"evil": "forge", "good": ""}, nil)
	f.must(f.fakessh(nil, "evil", "true")) // bootstraps the attacker, which then starts its sweep
	f.waitLog("refused call from untrusted context")
	flooded := time.Now()
	payload := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB through a stream the attacker tries to end
	for i := range 8 {
		res := f.must(f.fakessh(strings.NewReader(payload), "good", `cat "$HOME/who"; wc -c`))
		if want := "good\n" + strconv.Itoa(len(payload)) + "\n"; res.stdout != want {
			t.Fatalf("call %d to the honest target gave %q, want %q", i, res.stdout, want)
		}
	}
	for alias, s := range f.srv {
		if _, err := os.Stat(filepath.Join(s.Home, "pwned-by-hostile")); err == nil {
			t.Errorf("the attacker ran a command on %s", alias)
		}
	}
	st := f.status() // the daemon is up: the attacker's Stop call was refused
	if len(st.Connections) != 2 {
		t.Errorf("status lists %d connections, want both targets'", len(st.Connections))
	}
	for _, c := range st.Connections {
		if strings.ContainsRune(c.Agent.OS, 0x1b) {
			t.Errorf("status carries the attacker's escape sequence: %q", c.Agent.OS)
		}
	}
	// The attacker makes two refused calls a millisecond; the log takes a burst of 20, then one
	// a second.
	refusals := strings.Count(f.daemonLog(), "refused call from untrusted context")
	if max := 20 + int(time.Since(flooded).Seconds()) + 1; refusals > max {
		t.Errorf("the log holds %d refusals, more than the rate limit lets through (%d)", refusals, max)
	}
}

// TestHostileTargetAnswersOutOfTurn: a target that answers an exec open with data before its
// accept, or accepts it twice, gets a failed call rather than a believed one (router/spec.md
// 5.1): the out-of-turn data is never shown, the exit status after the second accept never
// taken, nothing hangs, and the daemon serves other targets as before.
func TestHostileTargetAnswersOutOfTurn(t *testing.T) {
	f := newFleet(t, map[string]string{"early": "data-before-accept", "twice": "accept-twice", "good": ""}, nil)
	for _, alias := range []string{"early", "twice"} {
		f.must(f.fakessh(nil, alias, "true")) // bootstraps the attacker
		res := f.fakessh(nil, alias, "echo honest")
		if res.code == 0 {
			t.Errorf("%s: a call answered out of turn succeeded: %q", alias, res.stdout)
		}
		if strings.Contains(res.stdout, "out-of-turn") || strings.Contains(res.stderr, "out-of-turn") {
			t.Errorf("%s: the data sent before the accept was shown: %q %q", alias, res.stdout, res.stderr)
		}
		t.Logf("%s: exit %d, stderr %q", alias, res.code, res.stderr)
	}
	if res := f.must(f.fakessh(nil, "good", `cat "$HOME/who"`)); res.stdout != "good\n" {
		t.Errorf("honest target beside the attackers: %q", res.stdout)
	}
	if st := f.status(); len(st.Connections) != 3 {
		t.Errorf("status lists %d connections, want all three targets'", len(st.Connections))
	}
}

// TestHostileTargetFloodingAnswersIsDropped: a target that floods the daemon with frames it must
// answer (confirmations of opens nobody made) and never reads the answers loses its link once
// its queue reaches the bound; the daemon's memory stays bounded and other targets are served.
func TestHostileTargetFloodingAnswersIsDropped(t *testing.T) {
	f := newFleet(t, map[string]string{"evil": "flood-close", "good": ""}, nil)
	f.must(f.fakessh(nil, "good", "true"))
	pid := f.status().PID
	start := time.Now()
	f.must(f.fakessh(nil, "evil", "true"))
	f.waitLog("link queue overflow")
	t.Logf("attacker dropped %v after it started flooding", time.Since(start).Round(time.Millisecond))
	if rss := peakRSS(t, pid); rss > maxDaemonRSS {
		t.Errorf("daemon peak RSS %d MiB while flooded, bound %d MiB", rss>>20, maxDaemonRSS>>20)
	} else {
		t.Logf("daemon peak RSS %d MiB", rss>>20)
	}
	if res := f.must(f.fakessh(nil, "good", `cat "$HOME/who"`)); res.stdout != "good\n" {
		t.Errorf("honest target after the flood: %q", res.stdout)
	}
}

// TestHostileTargetFloodingAStoppedClient: a target that sends stream data far beyond any window
// to every client, while one client is stopped (^Z) and reads nothing, loses its own link; the
// stopped client keeps its session and finishes it once resumed.
func TestHostileTargetFloodingAStoppedClient(t *testing.T) {
	f := newFleet(t, map[string]string{"evil": "flood-data", "good": ""}, nil)
	victim := exec.Command(filepath.Join(binDir, "fakessh"), "good", "cat")
	victim.Env = f.env
	in, _ := victim.StdinPipe()
	out, _ := victim.StdoutPipe()
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	defer victim.Process.Kill()
	echo := bufio.NewReader(out)
	roundTrip := func(s string) {
		t.Helper()
		io.WriteString(in, s+"\n")
		if line, err := echo.ReadString('\n'); err != nil || line != s+"\n" {
			t.Fatalf("victim echo %q, %v", line, err)
		}
	}
	roundTrip("before")
	pid := f.status().PID
	syscall.Kill(victim.Process.Pid, syscall.SIGSTOP)
	f.must(f.fakessh(nil, "evil", "true"))
	f.waitLog("link queue overflow")
	syscall.Kill(victim.Process.Pid, syscall.SIGCONT)
	if rss := peakRSS(t, pid); rss > maxDaemonRSS {
		t.Errorf("daemon peak RSS %d MiB while flooded, bound %d MiB", rss>>20, maxDaemonRSS>>20)
	} else {
		t.Logf("daemon peak RSS %d MiB", rss>>20)
	}
	roundTrip("after")
	in.Close()
	if err := victim.Wait(); err != nil {
		t.Errorf("the stopped client's session did not survive the flood: %v", err)
	}
}

// TestHostileLoginShell: what a target prints before the agent's frames start is bounded and
// never wedges the connection: an endless first line is refused within the bound, a 4 MiB stderr
// line is drained (the SSH channel would stall if it were not), and a chatty rc file is skipped
// by the bootstrap (the command, on a session of its own, sees what ssh's would).
func TestHostileLoginShell(t *testing.T) {
	tests := []struct {
		name, force string
		wantCode    int
		wantErr     string
	}{
		{"endless first line", `yes | tr -d '\n'`, 255, "no platform line"},
		{"4 MiB stderr line", `head -c 4194304 /dev/zero | tr '\0' x >&2; echo >&2; eval "$SSH_ORIGINAL_COMMAND"`, 0, ""},
		{"chatty rc file", `echo welcome; printf '\033]0;owned\a\n'; eval "$SSH_ORIGINAL_COMMAND"`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, sshdtest.WithExtraConfig("ForceCommand "+tt.force))
			start := time.Now()
			res := r.fakessh(nil, "target", "echo ok")
			t.Logf("exit %d after %v: %q", res.code, time.Since(start).Round(time.Millisecond), res.stderr)
			if res.code != tt.wantCode || !strings.Contains(res.stderr, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", res.code, res.stderr, tt.wantCode, tt.wantErr)
			}
			// The command's own session gets what the rc file prints, as ssh's does.
			if tt.wantCode == 0 {
				if real := r.realSSH(nil, "echo ok"); res.stdout != real.stdout {
					t.Errorf("stdout %q, ssh's %q", res.stdout, real.stdout)
				}
			}
			if strings.ContainsRune(r.daemonLog(), 0x1b) {
				t.Error("the daemon's log holds the target's escape sequence unescaped")
			}
			if rss := peakRSS(t, r.status().PID); rss > maxDaemonRSS {
				t.Errorf("daemon peak RSS %d MiB, bound %d MiB", rss>>20, maxDaemonRSS>>20)
			}
		})
	}
}
