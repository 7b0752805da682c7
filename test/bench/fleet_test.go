package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// The fleet rows: a fleet as a new user would try one on this machine, every target a login
// to its own sshd port on loopback, and a tree of agents started through the generic exec
// method (one context per `env MGLEAF=...` behind 10 targets).
const (
	fleetTargets = 100
	treeMids     = 10
	treeLeaves   = 100
	runsFleet    = 3
	runsBusy     = 5
	fleetPar     = 100 // client processes running at once in the 1,000-call rows
)

// fleet is the rows' targets and the OpenSSH masters beside them.
type fleet struct {
	r        *rig
	f        *sshdtest.Fleet
	payloads [][]byte // what `cat payload-tN` prints, per target
	cmDir    string
}

func fleetRows(r *rig) ([]Row, []string) {
	fl := &fleet{r: r, f: sshdtest.StartFleet(r.tb, fleetTargets), cmDir: r.tb.TempDir()}
	fl.writePayloads()
	var rows []Row
	var notes []string

	// 100 first calls at once: a fresh daemon each run, against 100 fresh ssh logins.
	var sent int
	var daemonCPU, sshdA, sshdB, allA, allB time.Duration
	s := interleave(runsFleet,
		func() time.Duration {
			sock := r.newSocket()
			s0, m0 := fl.sshdCPU(), machineCPU()
			d := fl.all(fl.fakeCalls(sock, "true"), 0)
			allA += machineCPU() - m0
			daemonCPU += cpuTime(r.status(sock).PID)
			r.stopDaemon(sock)
			fl.loginsEnded()
			sshdA += fl.sshdCPU() - s0
			sent = bootstrapBytes(sock)
			return d
		},
		func() time.Duration {
			s0, m0 := fl.sshdCPU(), machineCPU()
			d := fl.all(fl.sshCalls(false, "true"), 0)
			allB += machineCPU() - m0
			fl.loginsEnded()
			sshdB += fl.sshdCPU() - s0
			return d
		},
	)
	per := time.Duration(runsFleet * fleetTargets)
	rows = append(rows, Row{Name: fmt.Sprintf("%d targets (%d sshd ports) connected at once, first call each", fleetTargets, fleetTargets),
		A: "fakessh, fresh daemon", SA: s[0], B: "fresh ssh", SB: s[1], Goal: "<= 0.5, A < 3 s",
		Extra: fmt.Sprintf("agent %d B sent per target; CPU per target until the last call ends, whole machine: A %s, B %s; of it mitogend %s; sshd with the logins it collected A %s, B %s",
			sent, fmtDur(allA/per), fmtDur(allB/per), fmtDur(daemonCPU/per), fmtDur(sshdA/per), fmtDur(sshdB/per))})

	// The same 100 warm: a command on all at once, each answer checked byte for byte.
	sock := r.newSocket()
	fl.all(fl.fakeCalls(sock, "true"), 0)
	fl.startMasters(fleetTargets)
	pid := r.status(sock).PID
	masters := fl.masterPIDs(fleetTargets)
	var cpuA, cpuB time.Duration
	s = interleave(runsFleet,
		func() time.Duration {
			c0 := cpuTime(pid)
			d := fl.all(fl.fakeCalls(sock, "cat"), 0)
			cpuA += cpuTime(pid) - c0
			return d
		},
		func() time.Duration {
			c0 := sumCPU(masters)
			d := fl.all(fl.sshCalls(true, "cat"), 0)
			cpuB += sumCPU(masters) - c0
			return d
		},
	)
	calls := time.Duration(runsFleet * fleetTargets)
	rows = append(rows, Row{Name: fmt.Sprintf("a command (64 KiB out) on all %d at once, warm", fleetTargets), A: "fakessh", SA: s[0], B: "ssh ControlMaster", SB: s[1], Goal: "<= 1.0",
		Extra: fmt.Sprintf("CPU per call: mitogend %s, the masters %s", fmtDur(cpuA/calls), fmtDur(cpuB/calls))})
	if pssh, err := exec.LookPath("parallel-ssh"); err == nil {
		sp := interleave(runsFleet, func() time.Duration { return fl.pssh(pssh) })
		rows = append(rows, Row{Name: fmt.Sprintf("a command (64 KiB out) on all %d at once, warm", fleetTargets), A: "fakessh", SA: s[0], B: "pssh -p 100 over the masters", SB: sp[0], Goal: "<= 1.0", Apart: true})
	} else {
		notes = append(notes, "pssh (parallel-ssh) is not installed: no pssh row")
	}
	notes = append(notes, fl.idleMemory(masters))

	rs, ns := fl.treeRows()
	return append(rows, rs...), append(notes, ns...)
}

// writePayloads puts a 64 KiB random file per target in its sshd's HOME.
func (fl *fleet) writePayloads() {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tg := range fl.f.Targets {
		b := make([]byte, 64<<10)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		must(fl.r.tb, os.WriteFile(fl.payload(tg), b, 0o644))
		fl.payloads = append(fl.payloads, b)
	}
}

func (fl *fleet) payload(tg sshdtest.FleetTarget) string {
	return filepath.Join(tg.Server.Home, "payload-"+tg.Alias)
}

// call is one client process and the output it must print.
type call struct {
	cmd  *exec.Cmd
	want []byte
}

// fakeCalls is a fakessh per target: `true`, or "cat" its payload.
func (fl *fleet) fakeCalls(sock, what string) []call {
	var out []call
	for i, tg := range fl.f.Targets {
		c := call{cmd: exec.Command(filepath.Join(fl.r.bin, "fakessh"), tg.Alias, "true")}
		if what == "cat" {
			c = call{cmd: exec.Command(filepath.Join(fl.r.bin, "fakessh"), tg.Alias, "cat "+fl.payload(tg)), want: fl.payloads[i]}
		}
		c.cmd.Env = fl.fakeEnv(sock)
		out = append(out, c)
	}
	return out
}

func (fl *fleet) fakeEnv(sock string, extra ...string) []string {
	return append(append(fl.f.Env(), "MITOGEN_SOCKET="+sock, "MITOGEND="+fl.r.daemon, "PATH="+fl.r.bin+":"+os.Getenv("PATH")), extra...)
}

// sshCalls is an ssh per target, fresh or through its master.
func (fl *fleet) sshCalls(cm bool, what string) []call {
	var out []call
	for i, tg := range fl.f.Targets {
		cmd := "true"
		var want []byte
		if what == "cat" {
			cmd, want = "cat "+fl.payload(tg), fl.payloads[i]
		}
		out = append(out, call{cmd: exec.Command("ssh", append(fl.sshArgs(cm), tg.Alias, cmd)...), want: want})
	}
	return out
}

func (fl *fleet) sshArgs(cm bool) []string {
	a := []string{"-F", fl.f.SSHConfig}
	if cm {
		a = append(a, "-o", "ControlPath="+filepath.Join(fl.cmDir, "%n"), "-o", "ControlMaster=no")
	}
	return a
}

// all runs the calls, at most par at a time (0: all at once), checks every exit status and
// output, and returns the wall time.
func (fl *fleet) all(calls []call, par int) time.Duration {
	if par <= 0 {
		par = len(calls)
	}
	sem := make(chan struct{}, par)
	errs := make(chan error, len(calls))
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range calls {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			var o, e bytes.Buffer
			c.cmd.Stdout, c.cmd.Stderr = &o, &e
			if err := c.cmd.Run(); err != nil {
				errs <- fmt.Errorf("%v: %v\n%s", c.cmd.Args, err, e.String())
			} else if c.want != nil && !bytes.Equal(o.Bytes(), c.want) {
				errs <- fmt.Errorf("%v: %d bytes out, not the %d expected", c.cmd.Args, o.Len(), len(c.want))
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	close(errs)
	for err := range errs {
		fl.r.tb.Fatal(err)
	}
	return d
}

// startMasters starts an OpenSSH ControlMaster for each of the first n targets, in parallel.
func (fl *fleet) startMasters(n int) {
	var calls []call
	for _, tg := range fl.f.Targets[:n] {
		if _, err := os.Stat(filepath.Join(fl.cmDir, tg.Alias)); err == nil {
			continue
		}
		cmd := exec.Command("ssh", "-F", fl.f.SSHConfig, "-o", "ControlMaster=yes", "-o", "ControlPath="+filepath.Join(fl.cmDir, "%n"),
			"-o", "ControlPersist=yes", "-f", "-N", tg.Alias)
		calls = append(calls, call{cmd: cmd})
		alias := tg.Alias
		fl.r.tb.Cleanup(func() {
			exec.Command("ssh", "-F", fl.f.SSHConfig, "-o", "ControlPath="+filepath.Join(fl.cmDir, "%n"), "-O", "exit", alias).Run()
		})
	}
	// -f leaves the master holding the pipes: its output goes to a file instead.
	logf, err := os.Create(filepath.Join(fl.cmDir, "masters.log"))
	must(fl.r.tb, err)
	defer logf.Close()
	var wg sync.WaitGroup
	for _, c := range calls {
		c.cmd.Stdout, c.cmd.Stderr = logf, logf
		wg.Add(1)
		go func() { defer wg.Done(); c.cmd.Run() }()
	}
	wg.Wait()
}

// masterPIDs are the first n targets' masters.
func (fl *fleet) masterPIDs(n int) []int {
	var pids []int
	for _, tg := range fl.f.Targets[:n] {
		out, _ := exec.Command("ssh", "-F", fl.f.SSHConfig, "-o", "ControlPath="+filepath.Join(fl.cmDir, "%n"), "-O", "check", tg.Alias).CombinedOutput()
		var pid int
		if i := strings.Index(string(out), "pid="); i >= 0 {
			fmt.Sscanf(string(out[i+4:]), "%d", &pid)
		}
		if pid == 0 {
			fl.r.tb.Fatalf("no master for %s: %s", tg.Alias, out)
		}
		pids = append(pids, pid)
	}
	return pids
}

func sumCPU(pids []int) time.Duration {
	var d time.Duration
	for _, p := range pids {
		d += schedCPU(p)
	}
	return d
}

// schedCPU is a live single-threaded process's CPU time to the nanosecond (/proc/PID/schedstat
// is its main thread's), where /proc/PID/stat counts 10 ms ticks, too coarse for one master's
// share of a call.
func schedCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		return 0
	}
	var ns int64
	fmt.Sscanf(string(b), "%d", &ns)
	return time.Duration(ns)
}

// loginsEnded waits (at most 30 s) until no sshd of the fleet has a login process left, so that
// sshdCPU has collected their CPU time.
func (fl *fleet) loginsEnded() {
	roots := map[int]bool{}
	for _, s := range fl.f.Servers {
		b, _ := os.ReadFile(filepath.Join(s.Dir, "sshd.pid"))
		var pid int
		fmt.Sscanf(string(b), "%d", &pid)
		roots[pid] = true
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && childrenOf(roots) > 0 {
		<-time.After(20 * time.Millisecond)
	}
}

// childrenOf counts the live processes whose parent is in roots.
func childrenOf(roots map[int]bool) int {
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+2:]))
		var ppid int
		if len(f) > 1 {
			fmt.Sscanf(f[1], "%d", &ppid)
		}
		if roots[ppid] {
			n++
		}
	}
	return n
}

// sshdCPU is the CPU time the fleet's sshd have used and collected from their finished
// children (logins, shells, bootstraps, agents): /proc/PID/stat utime+stime+cutime+cstime.
// A login's process is counted once it has ended and been waited for.
func (fl *fleet) sshdCPU() time.Duration {
	var d time.Duration
	for _, s := range fl.f.Servers {
		b, err := os.ReadFile(filepath.Join(s.Dir, "sshd.pid"))
		if err != nil {
			continue
		}
		var pid int
		fmt.Sscanf(string(b), "%d", &pid)
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+2:]))
		var tot int64
		for _, i := range []int{11, 12, 13, 14} {
			var v int64
			fmt.Sscanf(f[i], "%d", &v)
			tot += v
		}
		d += time.Duration(tot) * 10 * time.Millisecond
	}
	return d
}

func sumRSS(pids []int) int {
	n := 0
	for _, p := range pids {
		n += rssKiB(p)
	}
	return n
}

// pssh runs `cat payload` on every target with parallel-ssh over the masters, output checked.
func (fl *fleet) pssh(pssh string) time.Duration {
	dir := fl.r.tb.TempDir()
	hosts := filepath.Join(dir, "hosts")
	var b strings.Builder
	for _, tg := range fl.f.Targets {
		b.WriteString(tg.Alias + "\n")
	}
	must(fl.r.tb, os.WriteFile(hosts, []byte(b.String()), 0o644))
	outDir := filepath.Join(dir, "out")
	// pssh cannot give each host its own argument, so each target cats a file named for the
	// sshd port it is logged into ($SSH_CONNECTION's last field).
	cmd := exec.Command(pssh, "-h", hosts, "-p", fmt.Sprint(fleetTargets), "-t", "0", "-o", outDir,
		"-x", strings.Join(fl.sshArgs(true), " "), `cat "$HOME/by-port-${SSH_CONNECTION##* }"`)
	for i, tg := range fl.f.Targets {
		link := filepath.Join(tg.Server.Home, fmt.Sprintf("by-port-%d", tg.Port))
		if _, err := os.Lstat(link); err != nil {
			must(fl.r.tb, os.Symlink(fl.payload(fl.f.Targets[i]), link))
		}
	}
	d := fl.r.timed(cmd)
	for i, tg := range fl.f.Targets {
		got, err := os.ReadFile(filepath.Join(outDir, tg.Alias))
		if err != nil || !bytes.Equal(got, fl.payloads[i]) {
			fl.r.tb.Fatalf("pssh %s: %d bytes (%v), not the %d expected", tg.Alias, len(got), err, len(fl.payloads[i]))
		}
	}
	return d
}

// idleMemory is the daemon's growth per idle target (a fresh daemon with one target, then all
// 100), beside the masters' RSS per target.
func (fl *fleet) idleMemory(masters []int) string {
	sock := fl.r.newSocket()
	defer fl.r.stopDaemon(sock)
	calls := fl.fakeCalls(sock, "true")
	fl.all(calls[:1], 0)
	st0 := fl.r.status(sock)
	rss0 := rssKiB(st0.PID)
	fl.all(calls[1:], 0)
	lanesSettledN(fl.r, sock, fleetTargets) // idle means the lanes' round-trip probes are over too
	st := fl.r.status(sock)
	rss1 := rssKiB(st0.PID)
	n := float64(fleetTargets - 1)
	return fmt.Sprintf("per idle target: a fresh mitogend %d KiB RSS and %d goroutines with 1 target, %d KiB and %d goroutines with %d (%d connections in status): %.0f KiB and %.1f goroutines per idle target; OpenSSH: a ControlMaster process per target, %.0f KiB RSS each",
		rss0, st0.Summary.Goroutines, rss1, st.Summary.Goroutines, fleetTargets, st.Summary.Connections, float64(rss1-rss0)/n,
		float64(st.Summary.Goroutines-st0.Summary.Goroutines)/n, float64(sumRSS(masters))/float64(len(masters)))
}

// treeRows: 1,000 contexts, 100 behind each of 10 targets, each answering its own call; then
// one call while the other 999 are busy.
func (fl *fleet) treeRows() ([]Row, []string) {
	r := fl.r
	sock := r.newSocket()
	defer r.stopDaemon(sock)
	env := fl.fakeEnv(sock, fmt.Sprintf("MITOGEN_MAX_CONTEXTS=%d", treeLeaves+10))
	fl.all(fl.treeCalls(env, 0, treeMids, "", true), 0) // the intermediaries' connections
	st0 := r.status(sock)
	pid := st0.PID
	rss0 := rssKiB(pid)
	first := fl.all(fl.treeCalls(env, 0, treeMids, "", false), fleetPar)
	st := r.status(sock)
	rss1 := rssKiB(pid)
	if st.Summary.Contexts != treeMids*treeLeaves {
		r.tb.Fatalf("tree: %d contexts in status, want %d", st.Summary.Contexts, treeMids*treeLeaves)
	}
	fl.startMasters(treeMids)
	s := interleave(runsFleet,
		func() time.Duration { return fl.all(fl.treeCalls(env, 0, treeMids, "", false), fleetPar) },
		func() time.Duration { return fl.all(fl.treeSSH(0, treeMids, ""), fleetPar) },
	)
	rows := []Row{
		{Name: fmt.Sprintf("%d contexts through a %d x %d tree, first call each (starts the contexts)", treeMids*treeLeaves, treeMids, treeLeaves),
			A: "fakessh", SA: Samples{first}, B: "ssh ControlMaster (no contexts to start)", SB: s[1]},
		{Name: fmt.Sprintf("%d contexts through the tree, a call each, warm (%d clients at a time)", treeMids*treeLeaves, fleetPar),
			A: "fakessh", SA: s[0], B: "ssh ControlMaster, `env MGLEAF=... sh -c`", SB: s[1], Goal: "<= 1.0"},
	}
	notes := []string{fmt.Sprintf("tree: mitogend %d KiB RSS, %d goroutines with the %d intermediaries' connections; %d KiB, %d goroutines with %d contexts behind them: %.1f KiB and %.2f goroutines per context (each context's agent is a process of its own on its target, not counted)",
		rss0, st0.Summary.Goroutines, treeMids, rss1, st.Summary.Goroutines, st.Summary.Contexts, float64(rss1-rss0)/float64(treeMids*treeLeaves),
		float64(st.Summary.Goroutines-st0.Summary.Goroutines)/float64(treeMids*treeLeaves))}

	// One call to the 1,000th context while the other 999 each run a command.
	idle := interleave(runsBusy, func() time.Duration { return r.timed(fl.treeCalls(env, treeMids-1, treeMids, "last", false)[0].cmd) })
	stopA := fl.busy(fl.treeCalls(env, 0, treeMids, "busy", false))
	busyA := interleave(runsBusy, func() time.Duration { return r.timed(fl.treeCalls(env, treeMids-1, treeMids, "last", false)[0].cmd) })
	stopA()
	stopB := fl.busy(fl.treeSSH(0, treeMids, "busy"))
	busyB := interleave(runsBusy, func() time.Duration { return r.timed(fl.treeSSH(treeMids-1, treeMids, "last")[0].cmd) })
	stopB()
	rows = append(rows, Row{Name: fmt.Sprintf("one call while %d others are busy", treeMids*treeLeaves-1), A: "fakessh", SA: busyA[0],
		B: "ssh ControlMaster", SB: busyB[0], Goal: "<= 1.0", Apart: true,
		Extra: fmt.Sprintf("A with nothing else running %s; the busy calls each printed a line and hold their stream open", fmtDur(idle[0].Median()))})
	return rows, notes
}

// leafScript is what a leaf runs: its name, or (busy) its name and then a wait on stdin.
const (
	leafSay  = `printf '%s\n' "$MGLEAF"`
	leafBusy = `printf '%s\n' "$MGLEAF"; cat >/dev/null`
)

// treeCalls are fakessh calls to the leaves behind intermediaries [from, to): every leaf, or
// for "last" the last leaf alone, for "busy" every leaf but the last one of the tree; mids
// alone calls the intermediaries themselves.
func (fl *fleet) treeCalls(env []string, from, to int, which string, mids bool) []call {
	var out []call
	for i := from; i < to; i++ {
		alias := fl.f.Targets[i].Alias
		if mids {
			c := exec.Command(filepath.Join(fl.r.bin, "fakessh"), alias, "true")
			c.Env = env
			out = append(out, call{cmd: c})
			continue
		}
		for j := range treeLeaves {
			if !leafSelected(i, j, which) {
				continue
			}
			name := fmt.Sprintf("%d.%d", i, j)
			script := leafSay
			if which == "busy" {
				script = leafBusy
			}
			c := exec.Command(filepath.Join(fl.r.bin, "fakessh"), "-o", "mitogen.container=exec env MGLEAF="+name, alias, script)
			c.Env = env
			out = append(out, call{cmd: c, want: []byte(name + "\n")})
		}
	}
	return out
}

// treeSSH is the same fan-out with OpenSSH through the intermediaries' masters: the command the
// context would run, run by sshd's shell under env.
func (fl *fleet) treeSSH(from, to int, which string) []call {
	var out []call
	for i := from; i < to; i++ {
		for j := range treeLeaves {
			if !leafSelected(i, j, which) {
				continue
			}
			name := fmt.Sprintf("%d.%d", i, j)
			script := leafSay
			if which == "busy" {
				script = leafBusy
			}
			c := exec.Command("ssh", append(fl.sshArgs(true), fl.f.Targets[i].Alias, "env MGLEAF="+name+" sh -c '"+strings.ReplaceAll(script, "'", `'\''`)+"'")...)
			out = append(out, call{cmd: c, want: []byte(name + "\n")})
		}
	}
	return out
}

func leafSelected(i, j int, which string) bool {
	last := i == treeMids-1 && j == treeLeaves-1
	switch which {
	case "last":
		return last
	case "busy":
		return !last
	}
	return true
}

// busy starts the calls, each holding its stream open (reading stdin) once it has printed its
// name, and returns once every one has; the function returned ends them.
func (fl *fleet) busy(calls []call) func() {
	type held struct {
		cmd *exec.Cmd
		in  interface{ Close() error }
	}
	var hs []held
	lines := make(chan error, len(calls))
	for _, c := range calls {
		in, err := c.cmd.StdinPipe()
		must(fl.r.tb, err)
		out, err := c.cmd.StdoutPipe()
		must(fl.r.tb, err)
		must(fl.r.tb, c.cmd.Start())
		hs = append(hs, held{c.cmd, in})
		want := string(c.want)
		go func() {
			line, err := bufio.NewReader(out).ReadString('\n')
			if err == nil && line != want {
				err = fmt.Errorf("%v: %q, want %q", c.cmd.Args, line, want)
			}
			lines <- err
		}()
	}
	for range calls {
		if err := <-lines; err != nil {
			fl.r.tb.Fatal(err)
		}
	}
	return func() {
		for _, h := range hs {
			h.in.Close()
		}
		for _, h := range hs {
			if err := h.cmd.Wait(); err != nil {
				fl.r.tb.Fatalf("%v: %v", h.cmd.Args, err)
			}
		}
	}
}
