package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
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

	"github.com/mitogen-go/mitogend/test/testenv"
)

// TestTransfersKilledAtRandomPoints overwrites a file 100 times with scp (SFTP mode), scp -O and
// mitogend cp, killing the client, the agent or the TCP link (a proxy between the daemon and
// sshd) once the temporary file holds a random number of bytes. Each time the destination must
// be the old file or the new one, byte for byte, and no temporary file may remain: at once when
// the agent lives, after the next transfer into the directory when it was killed. The random
// points come from a seeded generator (MITOGEN_FAULT_SEED replays a run).
func TestTransfersKilledAtRandomPoints(t *testing.T) {
	testenv.NeedTool(t, "scp")
	r := newRig(t)
	p := newCutProxy(t, r.srv.Addr)
	known := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, known, fmt.Sprintf("[127.0.0.1]:%d %s\n", p.port(), r.srv.HostPublicKey))
	via := []string{"-o", "Port=" + strconv.Itoa(p.port()), "-o", "UserKnownHostsFile=" + known}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MITOGEN_FAULT_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (MITOGEN_FAULT_SEED=%d replays this run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	base := t.TempDir()
	dir := filepath.Join(base, "remote")
	os.Mkdir(dir, 0o755)
	dest := filepath.Join(dir, "f")
	old := bytes.Repeat([]byte("old file\n"), 60000)
	src := filepath.Join(base, "new")
	fakessh := filepath.Join(binDir, "fakessh")
	tools := []string{"cp", "scp", "scp -O"}
	victims := []string{"client", "agent", "link"}
	outcome := map[string]int{}
	r.must(r.fakessh(nil, append(via, "target", "true")...)) // the daemon runs from here on
	for i := range 100 {
		tool, victim := tools[rng.IntN(len(tools))], victims[rng.IntN(len(victims))]
		newData := make([]byte, 1<<20+rng.IntN(3<<20))
		for j := range newData {
			newData[j] = byte(rng.Uint32())
		}
		at := rng.Int64N(int64(len(newData)))
		if err := os.WriteFile(dest, old, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, newData, 0o644); err != nil {
			t.Fatal(err)
		}
		var cmd *exec.Cmd
		switch tool {
		case "cp":
			cmd = exec.Command(filepath.Join(binDir, "mitogend"), append(append([]string{"cp", "-q"}, via...), src, "target:"+dest)...)
		case "scp":
			cmd = exec.Command("scp", append(append([]string{"-q", "-S", fakessh}, via...), src, "target:"+dest)...)
		default:
			cmd = exec.Command("scp", append(append([]string{"-O", "-q", "-S", fakessh}, via...), src, "target:"+dest)...)
		}
		cmd.Env = r.env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		agent := 0
		if victim == "agent" {
			if st := r.status(); len(st.Connections) > 0 {
				agent = st.Connections[0].Agent.PID
			}
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		hit := waitForTemp(t, dir, at, exited)
		if hit {
			switch victim {
			case "client":
				cmd.Process.Kill()
			case "agent":
				if agent == 0 {
					if st := r.status(); len(st.Connections) > 0 {
						agent = st.Connections[0].Agent.PID
					}
				}
				if agent != 0 {
					syscall.Kill(agent, syscall.SIGKILL)
				}
			case "link":
				p.Cut()
			}
		}
		select {
		case <-exited:
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			t.Fatalf("#%d %s still running a minute after the %s was killed", i, tool, victim)
		}
		if victim != "client" {
			// The next contact with the directory reaps what a killed agent left.
			r.must(r.cp(append(append([]string{"-q"}, via...), src, "target:"+filepath.Join(dir, "next"))...))
		}
		got, err := os.ReadFile(dest)
		state := "new"
		switch {
		case err != nil:
			t.Fatalf("#%d: %v", i, err)
		case bytes.Equal(got, old):
			state = "old"
		case !bytes.Equal(got, newData):
			t.Fatalf("#%d %s, %s killed at %d of %d bytes: the destination holds %d bytes, neither file (stderr %q)",
				i, tool, victim, at, len(newData), len(got), stderr.String())
		}
		if left := waitNoTemps(t, dir); len(left) > 0 {
			t.Fatalf("#%d %s, %s killed at %d of %d bytes: left behind %v", i, tool, victim, at, len(newData), left)
		}
		outcome[tool+"/"+victim+"/"+state]++
		outcome[state]++
	}
	t.Logf("outcomes: %v", outcome)
	if outcome["old"] < 20 {
		t.Errorf("only %d of 100 transfers were interrupted: the kills came too late to test anything", outcome["old"])
	}
}

// waitForTemp waits until a temporary file in dir holds at least n bytes (true), or the
// transfer ended first (false).
func waitForTemp(t *testing.T, dir string, n int64, exited <-chan struct{}) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		for _, p := range tempFiles(t, dir) {
			if st, err := os.Stat(p); err == nil && st.Size() >= n {
				return true
			}
		}
		runtime.Gosched()
	}
	t.Fatalf("no temporary file in %s reached %d bytes in 30 s", dir, n)
	return false
}

// waitNoTemps waits (at most 10 s) for the agent to remove its temporary files, which it does as
// soon as it sees its client go.
func waitNoTemps(t *testing.T, dir string) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := tempFiles(t, dir)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		runtime.Gosched()
	}
}

// TestOverwriteNeverPartial reads the destination without pause while scp, sftp and mitogend cp
// overwrite it, as the issue measured scp doing: every read must see the old file or the new.
func TestOverwriteNeverPartial(t *testing.T) {
	testenv.NeedTool(t, "scp")
	testenv.NeedTool(t, "sftp")
	r := newRig(t)
	base := t.TempDir()
	a, b := bytes.Repeat([]byte("a"), 1<<20), bytes.Repeat([]byte("b"), 24<<20)
	srcA, srcB := filepath.Join(base, "a"), filepath.Join(base, "b")
	os.WriteFile(srcA, a, 0o644)
	os.WriteFile(srcB, b, 0o644)
	dest := filepath.Join(base, "dest")
	os.WriteFile(dest, a, 0o644)
	batch := func(src string) string {
		p := filepath.Join(base, "batch")
		writeFile(t, p, "put "+src+" "+dest+"\n")
		return p
	}
	fakessh := filepath.Join(binDir, "fakessh")
	runs := map[string]func(src string) result{
		"scp":    func(src string) result { return r.run(nil, "scp", "-q", "-S", fakessh, src, "target:"+dest) },
		"scp -O": func(src string) result { return r.run(nil, "scp", "-O", "-q", "-S", fakessh, src, "target:"+dest) },
		"sftp":   func(src string) result { return r.run(nil, "sftp", "-q", "-S", fakessh, "-b", batch(src), "target") },
		"cp":     func(src string) result { return r.cp("-q", src, "target:"+dest) },
	}
	for name, run := range runs {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			stop := make(chan struct{})
			var reads, partial int
			var bad int
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					got, err := os.ReadFile(dest)
					reads++
					if err != nil || !(bytes.Equal(got, a) || bytes.Equal(got, b)) {
						partial++
						bad = len(got)
					}
				}
			}()
			for _, src := range []string{srcB, srcA, srcB, srcA} {
				r.must(run(src))
			}
			close(stop)
			wg.Wait()
			t.Logf("%d reads during 4 overwrites", reads)
			if partial > 0 {
				t.Errorf("%d of %d reads saw a partial file (last: %d bytes)", partial, reads, bad)
			}
			if reads < 4 {
				t.Errorf("only %d reads: the reader did not run during the overwrites", reads)
			}
		})
	}
}

// TestDiskFullKeepsOldFile overwrites a file on a full file system (a small tmpfs): a clear
// error, the old file intact, nothing left behind.
func TestDiskFullKeepsOldFile(t *testing.T) {
	testenv.NeedRoot(t, "mounting a small tmpfs")
	testenv.NeedTool(t, "scp")
	r := newRig(t)
	base := t.TempDir()
	mnt := filepath.Join(base, "small")
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		testenv.Skip(t, "mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	dest := filepath.Join(mnt, "app.bin")
	old := bytes.Repeat([]byte("o"), 512<<10)
	src := filepath.Join(base, "big")
	os.WriteFile(src, bytes.Repeat([]byte("n"), 4<<20), 0o644)
	fakessh := filepath.Join(binDir, "fakessh")
	for _, c := range []struct {
		name string
		run  func() result
		want string
	}{
		{"scp", func() result { return r.run(nil, "scp", "-q", "-S", fakessh, src, "target:"+dest) }, ""},
		{"scp -O", func() result { return r.run(nil, "scp", "-O", "-q", "-S", fakessh, src, "target:"+dest) }, "scp: " + dest + ": No space left on device"},
		{"cp", func() result { return r.cp("-q", src, "target:"+dest) }, "mitogend cp: " + dest + ": No space left on device"},
	} {
		os.WriteFile(dest, old, 0o644)
		res := c.run()
		t.Logf("%s: exit %d, %q", c.name, res.code, res.stderr)
		if res.code == 0 {
			t.Errorf("%s: exit 0 on a full disk", c.name)
		}
		if c.want != "" && !strings.Contains(res.stderr, c.want) {
			t.Errorf("%s: stderr %q, want %q", c.name, res.stderr, c.want)
		}
		if got, _ := os.ReadFile(dest); !bytes.Equal(got, old) {
			t.Errorf("%s: the old file holds %d bytes, not its 512 KiB", c.name, len(got))
		}
		if left := waitNoTemps(t, mnt); len(left) > 0 {
			t.Errorf("%s: left behind %v", c.name, left)
		}
	}
}

// TestFsyncBeforeRename watches the agent's system calls (strace) during mitogend cp: the
// temporary file is synced before it is renamed over the destination, the directory after.
func TestFsyncBeforeRename(t *testing.T) {
	testenv.NeedTool(t, "strace")
	testenv.NeedRoot(t, "tracing the agent")
	r := newRig(t)
	base := t.TempDir()
	src := filepath.Join(base, "src")
	os.WriteFile(src, bytes.Repeat([]byte("x"), 300<<10), 0o644)
	dest := filepath.Join(base, "dest")
	r.must(r.fakessh(nil, "target", "true"))
	agent := r.status().Connections[0].Agent.PID
	log := filepath.Join(base, "strace.log")
	st := exec.Command("strace", "-f", "-y", "-e", "trace=fsync,fdatasync,rename,renameat,renameat2", "-o", log, "-p", strconv.Itoa(agent))
	errs, _ := st.StderrPipe()
	if err := st.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Process.Kill(); st.Wait() })
	// strace says so on stderr once it is attached to every thread.
	sc := bufio.NewScanner(errs)
	for sc.Scan() && !strings.Contains(sc.Text(), "attached") {
	}
	go func() {
		for sc.Scan() {
		}
	}()
	r.must(r.cp("-q", src, "target:"+dest))
	st.Process.Signal(syscall.SIGINT)
	st.Wait()
	b, _ := os.ReadFile(log)
	var steps []string
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.Contains(l, "fsync(") && strings.Contains(l, ".mitogen-tmp-"):
			steps = append(steps, "fsync-file")
		case strings.Contains(l, "rename") && strings.Contains(l, ".mitogen-tmp-") && strings.Contains(l, dest):
			steps = append(steps, "rename")
		case strings.Contains(l, "fsync(") && strings.Contains(l, "<"+base+">"):
			steps = append(steps, "fsync-dir")
		}
	}
	if got := strings.Join(steps, " "); got != "fsync-file rename fsync-dir" {
		t.Errorf("steps %q, want fsync-file rename fsync-dir; strace:\n%s", got, b)
	}
}
