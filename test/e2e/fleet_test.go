package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// fleetSize is the direct fleet of the CI test: each target a port of its own on loopback, a
// separate login (the benchmark runs 100).
const fleetSize = 50

// TestFleetParallelConnects: 50 targets, each a separate sshd port, called at once while a
// 51st target (a tarpit that accepts TCP and never speaks) holds its connect: every call comes
// back byte-exact, each target logged into once, and the tarpit's connect, still waiting, held
// none of them up. The status summary counts them all, and its filters narrow the listing.
func TestFleetParallelConnects(t *testing.T) {
	f := sshdtest.StartFleet(t, fleetSize)
	tarpit := startTarpit(t)
	appendFile(t, f.SSHConfig, fmt.Sprintf("Host tarpit\n    HostName 127.0.0.1\n    Port %d\n    User nobody\n", tarpit.port))
	r := attachRig(t, f.Env())

	stuck := r.startFakessh("tarpit", "true")
	<-tarpit.accepted // the daemon is up and dialling it

	want := make([][]byte, len(f.Targets))
	cmds := make([][]string, len(f.Targets))
	rng := rand.New(rand.NewPCG(12, 0))
	for i, tg := range f.Targets {
		want[i] = make([]byte, 1000+997*i)
		for j := range want[i] {
			want[i][j] = byte(rng.Uint32())
		}
		p := filepath.Join(tg.Server.Home, "payload-"+tg.Alias)
		if err := os.WriteFile(p, want[i], 0o644); err != nil {
			t.Fatal(err)
		}
		cmds[i] = []string{tg.Alias, "cat " + p + "; exit " + strconv.Itoa(i%7)}
	}
	start := time.Now()
	results := r.parallel(cmds)
	took := time.Since(start)
	for i, res := range results {
		if res.err != nil || res.stdout != string(want[i]) || res.stderr != "" || res.code != i%7 {
			t.Errorf("%s: exit %d (want %d), err %v, %d bytes out (want %d, same: %v), stderr %q",
				f.Targets[i].Alias, res.code, i%7, res.err, len(res.stdout), len(want[i]), res.stdout == string(want[i]), res.stderr)
		}
	}
	t.Logf("%d targets connected and called at once in %v", len(f.Targets), took.Round(time.Millisecond))
	select {
	case <-stuck:
		t.Errorf("the tarpit's call ended: the test expects it to wait for its connect")
	default:
	}
	// A second round rides the same connections.
	for i, res := range r.parallel(cmds) {
		if res.stdout != string(want[i]) || res.code != i%7 {
			t.Errorf("second round, %s: exit %d, %d bytes", f.Targets[i].Alias, res.code, len(res.stdout))
		}
	}
	if n := f.Logins(); n != len(f.Targets) {
		t.Errorf("%d logins for %d targets and two rounds, want one each", n, len(f.Targets))
	}

	st := r.statusJSON()
	if s := st.Summary; s == nil || s.Connections != len(f.Targets) || s.Connecting != 1 || s.Listed != len(f.Targets) || s.NoAnswer != 0 {
		t.Errorf("status summary %+v: want %d connections, 1 setting up (the tarpit), all listed, all answering", st.Summary, len(f.Targets))
	}
	pick := []int{f.Targets[3].Port, f.Targets[17].Port}
	narrow := r.statusJSON("--match", fmt.Sprintf("*:%d,*:%d", pick[0], pick[1]))
	var got []string
	for _, c := range narrow.Connections {
		got = append(got, c.Destination)
	}
	sort.Strings(got)
	wantDest := []string{fmt.Sprintf("%s@127.0.0.1:%d", f.Servers[0].User, pick[0]), fmt.Sprintf("%s@127.0.0.1:%d", f.Servers[0].User, pick[1])}
	sort.Strings(wantDest)
	if strings.Join(got, " ") != strings.Join(wantDest, " ") || narrow.Summary.Connections != len(f.Targets) || narrow.Summary.Listed != 2 {
		t.Errorf("status --match: %v (summary %+v), want %v of %d", got, narrow.Summary, wantDest, len(f.Targets))
	}
	if busy := r.statusJSON("--busy"); len(busy.Connections) != 0 {
		t.Errorf("status --busy lists %d idle connections", len(busy.Connections))
	}
	if sum := r.statusJSON("--summary"); len(sum.Connections) != 0 || sum.Summary.Connections != len(f.Targets) {
		t.Errorf("status --summary: %d connections listed, summary %+v", len(sum.Connections), sum.Summary)
	}
	text := r.must(r.run(nil, filepath.Join(binDir, "mitogend"), "status", "--summary", "--socket", r.socket)).stdout
	lines := strings.Split(text, "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], fmt.Sprintf("connections %d (setting up 1), ", len(f.Targets))) {
		t.Errorf("status --summary text:\n%s", text)
	}
}

// TestFleetTreeSubtreeDeath: a two-tier tree, the daemon -> 5 intermediaries (an SSH target's
// agent each) -> 10 contexts each (agents the intermediary starts through the generic exec
// method): every leaf answers its own call byte-exact; then one intermediary dies (its agent
// killed), and exactly its subtree goes: its 10 leaves end, the other 40 keep their processes
// and contexts and answer again without anything being started anew.
func TestFleetTreeSubtreeDeath(t *testing.T) {
	const mids, leaves = 5, 10
	f := sshdtest.StartFleet(t, mids)
	r := attachRig(t, append(f.Env(), "MITOGEN_MAX_CONTEXTS=64"))
	var cmds [][]string
	for i := range mids {
		for j := range leaves {
			cmds = append(cmds, leafCall(f.Targets[i].Alias, i, j))
		}
	}
	for k, res := range r.parallel(cmds) {
		if want := leafName(k/leaves, k%leaves) + "\n"; res.err != nil || res.code != 0 || res.stdout != want || res.stderr != "" {
			t.Fatalf("leaf %s: exit %d, err %v, stdout %q, stderr %q", leafName(k/leaves, k%leaves), res.code, res.err, res.stdout, res.stderr)
		}
	}
	before := r.statusJSON()
	if before.Summary.Connections != mids || before.Summary.Contexts != mids*leaves {
		t.Fatalf("status summary %+v: want %d connections, %d contexts", before.Summary, mids, mids*leaves)
	}
	leafPIDs := map[string]int{} // by intermediary's destination, then leaf name
	victim := before.Connections[0]
	for _, c := range before.Connections {
		for _, cs := range c.Contexts {
			leafPIDs[c.Destination+" "+cs.Name] = cs.Agent.PID
		}
	}
	if err := syscall.Kill(victim.Agent.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var after proto.Status
	deadline := time.Now().Add(30 * time.Second)
	for {
		after = r.statusJSON()
		if after.Summary.Connections == mids-1 && after.Summary.Contexts == (mids-1)*leaves && allGone(victim) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after killing %s's agent: summary %+v, its leaves gone: %v", victim.Destination, after.Summary, allGone(victim))
		}
		waitBriefly()
	}
	for _, c := range after.Connections {
		if c.Destination == victim.Destination {
			t.Errorf("%s still listed", victim.Destination)
		}
		for _, cs := range c.Contexts {
			if pid := leafPIDs[c.Destination+" "+cs.Name]; pid == 0 || pid != cs.Agent.PID || !alive(pid) {
				t.Errorf("%s %s: pid %d, was %d (alive %v): a context outside the dead subtree changed", c.Destination, cs.Name, cs.Agent.PID, pid, alive(pid))
			}
		}
	}
	// The survivors answer again, on the contexts they had.
	var again [][]string
	var names []string
	for k, c := range cmds {
		if destOf(f, k/leaves) != victim.Destination {
			again = append(again, c)
			names = append(names, leafName(k/leaves, k%leaves))
		}
	}
	if len(again) != (mids-1)*leaves {
		t.Fatalf("%d surviving leaves, want %d (victim %s)", len(again), (mids-1)*leaves, victim.Destination)
	}
	for k, res := range r.parallel(again) {
		if res.code != 0 || res.stdout != names[k]+"\n" {
			t.Errorf("surviving leaf %s: exit %d, %q %q", names[k], res.code, res.stdout, res.stderr)
		}
	}
	if final := r.statusJSON(); final.Summary.Contexts != (mids-1)*leaves {
		t.Errorf("the survivors' calls changed the contexts: %+v", final.Summary)
	}
}

// TestFleetBehindOneBastion: 10 targets behind one bastion, called at once while an 11th
// behind it (a tarpit) holds its connect: they share the bastion's one connection (one login
// there, one on each target), their connects through it run side by side (none waits for the
// tarpit's), and every answer is byte-exact.
func TestFleetBehindOneBastion(t *testing.T) {
	const behind = 10
	f := sshdtest.StartFleet(t, behind+1)
	tarpit := startTarpit(t)
	bastion := f.Targets[0].Alias
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "Host tarpit\n    HostName 127.0.0.1\n    Port %d\n    User nobody\n    ProxyJump %s\n", tarpit.port, bastion)
	for _, tg := range f.Targets[1:] {
		fmt.Fprintf(&cfg, "Host via-%s\n    HostName 127.0.0.1\n    Port %d\n    ProxyJump %s\n", tg.Alias, tg.Port, bastion)
	}
	// ssh_config's first value wins: these blocks go before the fleet's own (Host tN).
	old, err := os.ReadFile(f.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.SSHConfig, cfg.String()+string(old))
	appendFile(t, f.SSHConfig, fmt.Sprintf("Host via-*\n    User %s\n    IdentityFile %s\n    IdentitiesOnly yes\n    UserKnownHostsFile %s\n    StrictHostKeyChecking yes\n",
		f.Servers[0].User, f.Servers[0].ClientKey, f.KnownHosts))
	r := attachRig(t, f.Env())

	stuck := r.startFakessh("tarpit", "true")
	<-tarpit.accepted // the bastion's connection is up and its sshd is connecting to the tarpit
	var cmds [][]string
	for _, tg := range f.Targets[1:] {
		cmds = append(cmds, []string{"via-" + tg.Alias, "printf '%s\\n' " + tg.Alias})
	}
	for i, res := range r.parallel(cmds) {
		if want := f.Targets[i+1].Alias + "\n"; res.err != nil || res.code != 0 || res.stdout != want || res.stderr != "" {
			t.Errorf("%s: exit %d, err %v, stdout %q, stderr %q", cmds[i][0], res.code, res.err, res.stdout, res.stderr)
		}
	}
	select {
	case <-stuck:
		t.Errorf("the tarpit's call ended: the test expects it to wait for its connect")
	default:
	}
	if n := f.Logins(); n != behind+1 {
		t.Errorf("%d logins, want %d: one on the bastion, one on each target behind it", n, behind+1)
	}
	if st := r.statusJSON(); st.Summary.Hops != 1 || st.Summary.Connections != behind || st.Summary.Connecting != 1 {
		t.Errorf("status summary %+v: want 1 jump host, %d connections, 1 setting up", st.Summary, behind)
	}
}

// leafCall is the fakessh command line for leaf j behind intermediary i: a context started by
// the intermediary's agent with `env MGLEAF=i.j` (the generic exec method), asked for its name.
func leafCall(alias string, i, j int) []string {
	return []string{"-o", "mitogen.container=exec env MGLEAF=" + leafName(i, j), alias, `printf '%s\n' "$MGLEAF"`}
}

func leafName(i, j int) string { return fmt.Sprintf("%d.%d", i, j) }

func destOf(f *sshdtest.Fleet, i int) string {
	return fmt.Sprintf("%s@127.0.0.1:%d", f.Targets[i].Server.User, f.Targets[i].Port)
}

// allGone reports whether every process of c's subtree (its agent, its contexts) has ended.
func allGone(c proto.Connection) bool {
	if alive(c.Agent.PID) {
		return false
	}
	for _, cs := range c.Contexts {
		if alive(cs.Agent.PID) {
			return false
		}
	}
	return true
}

// waitBriefly paces a poll that has its own deadline.
func waitBriefly() { <-time.After(50 * time.Millisecond) }

// parallelResult is one command of parallel.
type parallelResult struct {
	result
	err error // it could not be run, or ran past the deadline
}

// parallel runs fakessh once per argument list, all at once, and returns their results in
// order.
func (r *rig) parallel(cmds [][]string) []parallelResult {
	out := make([]parallelResult, len(cmds))
	var wg sync.WaitGroup
	for i, args := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(binDir, "fakessh"), args...)
			cmd.Env = r.env
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			err := cmd.Run()
			out[i].stdout, out[i].stderr = o.String(), e.String()
			if ee, ok := err.(*exec.ExitError); ok && ctx.Err() == nil {
				out[i].code = ee.ExitCode()
			} else if err != nil {
				out[i].err = err
			}
		}()
	}
	wg.Wait()
	return out
}

// startFakessh starts fakessh in the background and returns what closes when it exits; the
// test's end kills it.
func (r *rig) startFakessh(args ...string) <-chan struct{} {
	cmd := exec.Command(filepath.Join(binDir, "fakessh"), args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = r.env, io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.t.Cleanup(func() { cmd.Process.Kill(); <-done })
	return done
}

// statusJSON is `mitogend status --json` with args.
func (r *rig) statusJSON(args ...string) proto.Status {
	r.t.Helper()
	res := r.must(r.run(nil, filepath.Join(binDir, "mitogend"), append([]string{"status", "--json", "--socket", r.socket}, args...)...))
	var st proto.Status
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		r.t.Fatalf("status %v: %v\n%s", args, err, res.stdout)
	}
	return st
}

// tarpit accepts TCP connections on loopback and never says a word.
type tarpit struct {
	port     int
	accepted chan struct{} // closed at the first connection
}

func startTarpit(t *testing.T) *tarpit {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tarpit{port: ln.Addr().(*net.TCPAddr).Port, accepted: make(chan struct{})}
	var once sync.Once
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			once.Do(func() { close(tp.accepted) })
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return tp
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// TestDaemonRaisesOpenFiles: a daemon started under a soft open-files limit of 512 serves with
// its soft limit at the hard one (a fleet is a descriptor or more per connection).
func TestDaemonRaisesOpenFiles(t *testing.T) {
	testenv.NeedTool(t, "prlimit")
	r := newRig(t)
	var hard syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &hard); err != nil {
		t.Fatal(err)
	}
	if hard.Max <= 512 {
		t.Fatalf("hard open-files limit %d: the test needs one above 512", hard.Max)
	}
	r.must(r.run(nil, "prlimit", fmt.Sprintf("--nofile=512:%d", hard.Max), filepath.Join(binDir, "fakessh"), "target", "true"))
	pid := r.statusJSON().PID
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); strings.HasPrefix(l, "Max open files") && len(f) >= 5 {
			if f[3] != strconv.FormatUint(hard.Max, 10) || f[4] != f[3] {
				t.Errorf("daemon's open files: soft %s, hard %s; want both %d", f[3], f[4], hard.Max)
			}
			return
		}
	}
	t.Fatalf("no open files line in /proc/%d/limits:\n%s", pid, b)
}
