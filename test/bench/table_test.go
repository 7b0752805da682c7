package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// Run counts per contender. Kept modest so that `make bench` stays within about 25 minutes.
const (
	runsWarm  = 10
	runsRTT   = 7
	runsFirst = 5
	// The loopback bulk rows: a run varies by 10-30% on this shared machine, and the two
	// contenders' medians lie within a few percent of each other. Fifteen runs did not settle
	// the ratio: 1 GiB up gave 0.95 in one make bench and 1.10 in the next, with nothing on its
	// path changed between them. Each of these rows takes 31, some three minutes more than 15,
	// and the table gives the interval the noise leaves (Row.RatioInterval).
	runsTput    = 31 // the 1 GiB rows, about 1.5 s a run
	runsBigLo   = 31 // a 512 MiB file with rsync, about 1.5 s a run
	runsSmallLo = 31 // 2,000 small files with rsync, 0.2 s a run
	runsBig     = 3  // a 512 MiB file with mitogend cp or scp: at 50 ms RTT a run takes 14 s
	// rsync of a 512 MiB file at 50 ms RTT, 14-15 s a run: sshd's 2 MiB channel window bounds
	// both contenders alike, and three runs spread over a second (14.24-15.40 s), as wide as
	// any difference between them.
	runsBigRTT = 5
	runsSmall  = 5
	runsBurst  = 5
	burst      = 50
	gib        = 1 << 30
	bigFile    = 512 << 20
	smallN     = 2000
)

// BenchmarkTable measures fakessh against OpenSSH and prints the results table. It runs once
// whatever b.N is (each row repeats its own runs); BENCH_ROWS=regexp selects rows by key (warm,
// rtt, first, tput, rsync, xfer, conc, chain, ansible, fleet), BENCH_PPROF=DIR runs the
// profiling daemon writing profiles there.
func BenchmarkTable(b *testing.B) {
	testenv.NeedTool(b, "rsync")
	bin := b.TempDir()
	if err := buildAll(bin); err != nil {
		b.Fatal(err)
	}
	r := newRig(b, bin)
	sel := regexp.MustCompile(os.Getenv("BENCH_ROWS"))
	var rows []Row
	var notes []string
	for _, sec := range []struct {
		key string
		run func(*rig) ([]Row, []string)
	}{
		{"warm", warmRows}, {"rtt", rttRows}, {"first", firstRows},
		{"tput", tputRows}, {"rsync", rsyncRows}, {"xfer", xferRows}, {"conc", concRows}, {"chain", chainRows},
		{"ansible", ansibleRows},
		{"fleet", fleetRows},
	} {
		if !sel.MatchString(sec.key) {
			continue
		}
		start := time.Now()
		rs, ns := sec.run(r)
		rows = append(rows, rs...)
		notes = append(notes, ns...)
		fmt.Fprintf(os.Stderr, "bench: %s done in %v\n", sec.key, time.Since(start).Round(time.Second))
	}
	b.StopTimer()
	fmt.Printf("\n%s\n%s\n", machine(), Table(rows))
	for _, n := range notes {
		fmt.Printf("- %s\n", n)
	}
	b.ReportMetric(0, "ns/op") // the table is the result
}

// warmRows: one `true` per call over open connections.
func warmRows(r *rig) ([]Row, []string) {
	n := r.direct
	warm(r, n)
	before := r.status(n.socket)
	shell := loginShell()
	s := interleave(runsWarm,
		func() time.Duration { return r.timed(r.fakessh(n, n.socket, "target", "true")) },
		func() time.Duration { return r.timed(r.ssh(n, true, "target", "true")) },
		func() time.Duration { return r.timed(r.ssh(n, false, "target", "true")) },
		// Floors: what fakessh costs before it talks to anyone, and what the remote side's
		// `$SHELL -c true` costs (sshd runs it for ssh as the agent does for fakessh).
		func() time.Duration { return r.timed(r.fakessh(n, n.socket, "-V")) },
		func() time.Duration { return r.timed(exec.Command(shell, "-c", "true")) },
	)
	after := r.status(n.socket)
	per := linkDelta(before, after, runsWarm)
	floors := fmt.Sprintf("floors in the same run: `fakessh -V` (process start and exit, no I/O) %s; `%s -c true` run locally (the remote shell both sides pay) %s",
		fmtDur(s[3].Median()), shell, fmtDur(s[4].Median()))
	return []Row{
		{Name: "warm `true`, loopback", A: "fakessh", SA: s[0], B: "ssh ControlMaster", SB: s[1], Goal: "<= 0.25"},
		{Name: "warm `true`, loopback", A: "fakessh", SA: s[0], B: "fresh ssh", SB: s[2]},
	}, []string{fmt.Sprintf("warm call on the target link (router counters): %s", per), floors}
}

// rttRows: the same at 50 ms RTT, interleaved with loopback calls so that the round trips per
// call can be read as (time at 50 ms - time on loopback) / RTT: the process starts and the remote
// shell cost the same on both networks, the difference is what the wire adds.
func rttRows(r *rig) ([]Row, []string) {
	d, n := r.direct, r.slow
	warm(r, d)
	warm(r, n)
	s := interleave(runsRTT,
		func() time.Duration { return r.timed(r.fakessh(n, n.socket, "target", "true")) },
		func() time.Duration { return r.timed(r.ssh(n, true, "target", "true")) },
		func() time.Duration { return r.timed(r.ssh(n, false, "target", "true")) },
		func() time.Duration { return r.timed(r.fakessh(d, d.socket, "target", "true")) },
		func() time.Duration { return r.timed(r.ssh(d, true, "target", "true")) },
		func() time.Duration { return r.timed(r.ssh(d, false, "target", "true")) },
	)
	rtts := func(slow, loop Samples) string {
		return fmt.Sprintf("%.2f RTT on the wire (%.2f RTT of wall time)",
			float64(slow.Median()-loop.Median())/float64(n.rtt), float64(slow.Median())/float64(n.rtt))
	}
	return []Row{
		{Name: "warm `true`, 50 ms RTT", A: "fakessh", SA: s[0], B: "ssh ControlMaster", SB: s[1], Goal: "A <= 1.1 RTT",
			Extra: fmt.Sprintf("A %s; B %s", rtts(s[0], s[3]), rtts(s[1], s[4]))},
		{Name: "warm `true`, 50 ms RTT", A: "fakessh", SA: s[0], B: "fresh ssh", SB: s[2],
			Extra: fmt.Sprintf("B %s", rtts(s[2], s[5]))},
	}, nil
}

// warm makes sure the warm daemon and the master are up for n.
func warm(r *rig, n *network) {
	r.timed(r.fakessh(n, n.socket, "target", "true"))
	r.timed(r.ssh(n, true, "target", "true"))
	lanesSettled(r, n.socket)
}

// lanesSettled waits (10 s at most) until the daemon beside sock has its connection's lanes
// ready or has given them up: the connection is warm once all of it is up, as a ControlMaster
// is once its login is done. The first call's agent starts behind it, and the lanes behind the
// agent.
func lanesSettled(r *rig, sock string) { lanesSettledN(r, sock, 1) }

// lanesSettledN is lanesSettled for n connections of the daemon beside sock.
func lanesSettledN(r *rig, sock string, n int) {
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond) // a log file gives no event to wait on
	defer tick.Stop()
	for {
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(sock), "mitogend.log"))
		if bytes.Count(b, []byte(" lanes ready"))+bytes.Count(b, []byte(": no lanes: ")) >= n {
			return
		}
		select {
		case <-deadline:
			r.tb.Logf("bench: the daemon at %s never settled the lanes of its %d connections", sock, n)
			return
		case <-tick.C:
		}
	}
}

// firstRows: the first call to a target, daemon start and agent bootstrap included.
func firstRows(r *rig) ([]Row, []string) {
	var rows []Row
	var notes []string
	for _, n := range []*network{r.direct, r.slow} {
		var upA, upB []int64
		var sent int
		s := interleave(runsFirst,
			func() time.Duration {
				sock := r.newSocket()
				up := r.proxy.Up.Load()
				d := r.timed(r.fakessh(n, sock, "target", "true"))
				upA = append(upA, r.proxy.Up.Load()-up)
				r.stopDaemon(sock)
				sent = bootstrapBytes(sock)
				return d
			},
			func() time.Duration {
				up := r.proxy.Up.Load()
				d := r.timed(r.ssh(n, false, "target", "true"))
				upB = append(upB, r.proxy.Up.Load()-up)
				return d
			},
		)
		row := Row{Name: "first call, fresh daemon, " + n.name, A: "fakessh", SA: s[0], B: "fresh ssh", SB: s[1], Goal: "<= 0.8",
			Extra: fmt.Sprintf("agent %d B sent", sent)}
		if n.rtt > 0 {
			row.Extra += fmt.Sprintf("; bytes to server A %d, B %d; A %.1f RTT, B %.1f RTT", median64(upA), median64(upB),
				float64(s[0].Median())/float64(n.rtt), float64(s[1].Median())/float64(n.rtt))
		}
		rows = append(rows, row)
	}
	return rows, append(notes, agentWireNote(r))
}

// loginShell is the current account's shell, as sshd and the agent run it.
func loginShell() string {
	b, _ := os.ReadFile("/etc/passwd")
	uid := strconv.Itoa(os.Getuid())
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Split(l, ":"); len(f) == 7 && f[2] == uid && f[6] != "" {
			return f[6]
		}
	}
	return "/bin/sh"
}

// bootstrapBytes reads "N bytes sent" from the daemon's log beside sock.
func bootstrapBytes(sock string) int {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(sock), "mitogend.log"))
	m := regexp.MustCompile(`(\d+) bytes sent\)`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// tputRows: 1 GiB up through stdin and down through stdout, against a ControlMaster with the
// same cipher (aes128-gcm). The data is a sparse file: zeros cost no disk reads.
func tputRows(r *rig) ([]Row, []string) {
	n := r.direct
	warm(r, n)
	src := filepath.Join(r.dir, "sparse-1g")
	f, err := os.Create(src)
	must(r.tb, err)
	must(r.tb, f.Truncate(gib))
	// The first read of a hole fills the page cache with zeroed pages: 2-3 s of CPU that the
	// contender running first (always A) paid alone. Read once here, neither does.
	_, err = io.Copy(io.Discard, f)
	must(r.tb, err)
	f.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	must(r.tb, err)
	defer devnull.Close()

	var rows []Row
	var notes []string
	for _, dir := range []struct {
		name string
		cmd  string
		wire func(*exec.Cmd)
	}{
		{"1 GiB stdin -> `cat >/dev/null`", "cat >/dev/null", func(c *exec.Cmd) {
			in, err := os.Open(src)
			must(r.tb, err)
			c.Stdin = in
		}},
		{"1 GiB `cat file` -> stdout", "cat " + src, func(c *exec.Cmd) { c.Stdout = devnull }},
	} {
		cpuA, cpuB := &cpuLedger{}, &cpuLedger{}
		s := interleave(runsTput,
			func() time.Duration {
				c := r.fakessh(n, n.socket, "target", dir.cmd)
				dir.wire(c)
				return cpuA.measure(r, n, c, true)
			},
			func() time.Duration {
				c := r.ssh(n, true, "target", dir.cmd)
				dir.wire(c)
				return cpuB.measure(r, n, c, false)
			},
		)
		mbs := func(x Samples) float64 { return gib / x.Median().Seconds() / 1e6 }
		rows = append(rows, Row{Name: dir.name, A: "fakessh", SA: s[0], B: "ssh ControlMaster aes128-gcm", SB: s[1], Goal: "<= 1.0",
			Extra: fmt.Sprintf("A %.0f MB/s, B %.0f MB/s", mbs(s[0]), mbs(s[1]))})
		notes = append(notes, fmt.Sprintf("%s, CPU seconds per GiB: fakessh side %s; OpenSSH side %s", dir.name, cpuA.String(runsTput), cpuB.String(runsTput)))
	}
	return rows, notes
}

// cpuLedger sums CPU time per process role over runs.
type cpuLedger struct {
	mu    sync.Mutex
	roles []string
	cpu   map[string]time.Duration
}

func (l *cpuLedger) add(role string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cpu == nil {
		l.cpu = map[string]time.Duration{}
	}
	if _, ok := l.cpu[role]; !ok {
		l.roles = append(l.roles, role)
	}
	l.cpu[role] += d
}

func (l *cpuLedger) String(runs int) string {
	var parts []string
	var total time.Duration
	for _, role := range l.roles {
		parts = append(parts, fmt.Sprintf("%s %.2f", role, l.cpu[role].Seconds()/float64(runs)))
		total += l.cpu[role]
	}
	return fmt.Sprintf("%s (total %.2f)", strings.Join(parts, ", "), total.Seconds()/float64(runs))
}

// measure times c and charges the CPU of every process on its path: the client, the daemon and
// agent (fakessh) or the master (OpenSSH), and sshd's own processes.
func (l *cpuLedger) measure(r *rig, n *network, c *exec.Cmd, fake bool) time.Duration {
	var pids map[string]int
	if fake {
		st := r.status(n.socket)
		pids = map[string]int{"mitogend": st.PID}
		if len(st.Connections) > 0 {
			pids["agent"] = st.Connections[0].Agent.PID
		}
	} else {
		pids = map[string]int{"ssh master": r.masterPID(n)}
	}
	before := map[string]time.Duration{}
	for role, pid := range pids {
		before[role] = cpuTime(pid)
	}
	sshd0 := r.sshdCPU()
	d := r.timed(c)
	client := "ssh"
	if fake {
		client = "fakessh"
	}
	l.add(client, childCPU(c))
	for role, pid := range pids {
		l.add(role, cpuTime(pid)-before[role])
	}
	l.add("sshd", r.sshdCPU()-sshd0)
	return d
}

// sshdCPU is the CPU time of our sshd's live processes named sshd (not the agent or commands
// below them).
func (r *rig) sshdCPU() time.Duration {
	b, err := os.ReadFile(filepath.Join(r.srv.Dir, "sshd.pid"))
	if err != nil {
		return 0
	}
	root, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	parent := map[int]int{}
	comm := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(st)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < 0 {
			continue
		}
		comm[pid] = s[i+1 : j]
		f := strings.Fields(s[j+2:])
		if len(f) > 1 {
			parent[pid], _ = strconv.Atoi(f[1])
		}
	}
	var total time.Duration
	for pid := range comm {
		if comm[pid] != "sshd" {
			continue
		}
		for p := pid; p > 1; p = parent[p] {
			if p == root {
				total += cpuTime(pid)
				break
			}
		}
	}
	return total
}

// rsyncRows: a 512 MiB file and 2,000 small files, -e fakessh against -e ssh with a master.
// rsync writes into memory (memDir) where it can: what the rows compare is the two connections.
// The source is flushed to disk first, so that its writeback does not fall on the first runs.
func rsyncRows(r *rig) ([]Row, []string) {
	src := filepath.Join(r.dir, "rsync-src")
	sshdtest.RandomFile(r.tb, filepath.Join(src, "big", "big.bin"), bigFile)
	smallTree(r)
	unix.Sync()
	dstDir, note, done := memDir(r)
	defer done()
	var rows []Row
	for _, n := range []*network{r.direct, r.slow} {
		warm(r, n)
		for _, set := range []struct {
			name           string
			dir            string
			runs, loopRuns int // at 50 ms RTT, on loopback
		}{{"rsync 512 MiB file", "big", runsBigRTT, runsBigLo}, {"rsync 2,000 x 4 KiB files", "small", runsSmall, runsSmallLo}} {
			dst := filepath.Join(dstDir, "rsync-dst")
			run := func(e string, env []string) time.Duration {
				must(r.tb, os.RemoveAll(dst))
				c := exec.Command("rsync", "-a", "-e", e, filepath.Join(src, set.dir)+"/", "target:"+dst+"/")
				c.Env = env
				return r.timed(c)
			}
			runs := set.runs
			if n.rtt == 0 {
				runs = set.loopRuns
			}
			before := lanesUsed(n.socket)
			s := interleave(runs,
				func() time.Duration { return run(filepath.Join(r.bin, "fakessh"), r.env(n, n.socket)) },
				func() time.Duration { return run(r.sshE(n), os.Environ()) },
			)
			rows = append(rows, Row{Name: set.name + ", " + n.name, A: "rsync -e fakessh", SA: s[0], B: "rsync -e ssh (ControlMaster)", SB: s[1], Goal: "<= 1.0",
				Extra: fmt.Sprintf("A on lanes %d of %d runs", lanesUsed(n.socket)-before, runs)})
		}
	}
	return rows, []string{note}
}

// lanesUsed counts the rsyncs the daemon beside sock ran on lanes, from its log.
func lanesUsed(sock string) int {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(sock), "mitogend.log"))
	return strings.Count(string(b), "a bulk command on ")
}

// memDir is a directory in /dev/shm for the rsync rows' destination, a note saying where they
// wrote, and the function that removes it. This shared machine's disk once took a run of the
// 2,000 small files from 0.2 s to 1.6 s, for both contenders alike, and buried the
// difference between them; rsync does not fsync, so in memory it does what it does on disk
// less the disk. Without a tmpfs /dev/shm with room for the big file twice (a container's is
// often 64 MiB), the rows write beside the rest, on disk.
func memDir(r *rig) (string, string, func()) {
	var st unix.Statfs_t
	if unix.Statfs("/dev/shm", &st) != nil || st.Type != unix.TMPFS_MAGIC || st.Bavail*uint64(st.Bsize) < 2*bigFile {
		return r.dir, "rsync rows (9-12): the destination is on disk (no tmpfs at /dev/shm with room)", func() {}
	}
	dir, err := os.MkdirTemp("/dev/shm", "mitogen-bench-")
	must(r.tb, err)
	return dir, "rsync rows (9-12): the destination is in memory (tmpfs /dev/shm), the source on disk", func() { os.RemoveAll(dir) }
}

// smallTree makes the 2,000 x 4 KiB files under rsync-src/small, once for the rows that copy
// them, and returns that directory.
func smallTree(r *rig) string {
	dir := filepath.Join(r.dir, "rsync-src", "small")
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	buf := make([]byte, 4096)
	for i := range smallN {
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i/100), fmt.Sprintf("f%04d", i))
		if i%100 == 0 {
			must(r.tb, os.MkdirAll(filepath.Dir(p), 0o755))
		}
		buf[0], buf[1] = byte(i), byte(i>>8)
		must(r.tb, os.WriteFile(p, buf, 0o644))
	}
	return dir
}

// concRows: memory first (before the burst leaves garbage behind), then 50 calls at once on
// one tunnel.
func concRows(r *rig) ([]Row, []string) {
	n := r.direct
	warm(r, n)
	note := memory(r, n)
	s := interleave(runsBurst,
		func() time.Duration {
			return r.burst(func() *exec.Cmd { return r.fakessh(n, n.socket, "target", "true") })
		},
		func() time.Duration { return r.burst(func() *exec.Cmd { return r.ssh(n, true, "target", "true") }) },
	)
	return []Row{{Name: fmt.Sprintf("%d `true` at once, one connection, loopback", burst), A: "fakessh", SA: s[0], B: "ssh ControlMaster", SB: s[1], Goal: "<= 1.0"}}, []string{note}
}

// memory reports the RSS of the daemon and agent that carried the rows before (the bulk rows
// leave their heap behind), then, on a fresh daemon that has carried nothing, its growth per
// idle target over the aliases t1..tN (one connection and agent each), and the ControlMaster's.
func memory(r *rig, n *network) string {
	st := r.status(n.socket)
	used := rssKiB(st.PID)
	agent, agentIdle := 0, 0
	if len(st.Connections) > 0 {
		agent = rssKiB(st.Connections[0].Agent.PID)
		agentIdle = agentIdleKiB(st.Connections[0].Agent.PID)
	}
	sock := r.newSocket()
	defer r.stopDaemon(sock)
	r.timed(r.fakessh(n, sock, "target", "true"))
	freshAgent := freshAgentKiB(r, sock)
	fresh := r.status(sock)
	rss0 := rssKiB(fresh.PID)
	for i := 1; i <= aliases; i++ {
		r.timed(r.fakessh(n, sock, fmt.Sprintf("t%d", i), "true"))
	}
	after := r.status(sock)
	rss1 := rssKiB(fresh.PID)
	return fmt.Sprintf("memory (RSS): mitogend %d KiB and its agent %d KiB after the rows above, the agent %d KiB once idle; a fresh agent %d KiB idle; a fresh mitogend %d KiB with 1 target, %d KiB with %d targets (%d connections in status): %.0f KiB per idle target; OpenSSH ControlMaster %d KiB",
		used, agent, agentIdle, freshAgent, rss0, rss1, aliases+1, len(after.Connections), float64(rss1-rss0)/aliases, rssKiB(r.masterPID(n)))
}

// burst starts burst commands at once and waits for all of them.
func (r *rig) burst(mk func() *exec.Cmd) time.Duration {
	cmds := make([]*exec.Cmd, burst)
	for i := range cmds {
		cmds[i] = mk()
	}
	start := time.Now()
	for _, c := range cmds {
		must(r.tb, c.Start())
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			r.tb.Fatalf("%v: %v", c.Args, err)
		}
	}
	return time.Since(start)
}

// linkDelta is the target links' traffic per call between two status snapshots.
func linkDelta(a, b proto.Status, calls int) string {
	sum := func(st proto.Status) (in, out uint64) {
		for _, c := range st.Connections {
			in += c.BytesIn
			out += c.BytesOut
		}
		return in, out
	}
	ai, ao := sum(a)
	bi, bo := sum(b)
	return fmt.Sprintf("%d bytes to the agent, %d bytes back per call (frame headers are 24 bytes)",
		(bo-ao)/uint64(calls), (bi-ai)/uint64(calls))
}

func median64(x []int64) int64 {
	if len(x) == 0 {
		return 0
	}
	s := Samples(nil)
	for _, v := range x {
		s = append(s, time.Duration(v))
	}
	return int64(s.Median())
}

// machine describes where the figures come from.
func machine() string {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	sshv, _ := exec.Command("ssh", "-V").CombinedOutput()
	rsyncv, _ := exec.Command("rsync", "--version").Output()
	rv, _, _ := strings.Cut(string(rsyncv), "\n")
	return fmt.Sprintf("%s; %d CPUs (%s); kernel %s; %s; %s; %s", time.Now().Format("2006-01-02 15:04 MST"),
		runtime.NumCPU(), model, strings.TrimSpace(string(kernel)), strings.TrimSpace(string(sshv)), runtime.Version(), strings.TrimSpace(rv))
}
