package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
	"github.com/mitogen-go/mitogend/test/testenv"
)

// TestChainSharedHop: many calls at once to several targets behind one bastion make one login
// on each sshd: the bastion's connection is shared by every target behind it. It stays while
// any connection rides it and closes after the last; a warm call through it is timed beside a
// direct one.
func TestChainSharedHop(t *testing.T) {
	c := newChainRig(t, chainHost{alias: "bastion"},
		chainHost{alias: "t1", behind: "bastion", extra: "ProxyJump bastion"},
		chainHost{alias: "t2", behind: "bastion", extra: "ProxyJump bastion"})
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			alias := []string{"t1", "t2"}[i%2]
			res := c.fake(alias, `cat "$HOME/who"`)
			if res.code != 0 || res.stdout != alias+"\n" {
				errs <- fmt.Sprintf("%s: exit %d stdout %q stderr %q", alias, res.code, res.stdout, res.stderr)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got, want := c.logins(), "bastion=1 t1=1 t2=1"; got != want {
		t.Fatalf("logins %s, want %s", got, want)
	}

	// A call to the bastion itself is a connection of its own (with an agent), as under ssh.
	direct, via := timeWarm(c, []string{"bastion", "true"}, []string{"t1", "true"}, 15)
	t.Logf("warm call: direct to the bastion %v, through the bastion %v (medians of 15)", direct, via)
	if got, want := c.logins(), "bastion=2 t1=1 t2=1"; got != want {
		t.Fatalf("after the direct calls: logins %s, want %s", got, want)
	}

	hopClosed := "hop " + c.srv["bastion"].User + "@" + c.srv["bastion"].Addr + " closed"
	c.must(c.fake("-O", "exit", "t1"))
	c.must(c.fake("t1", "true")) // t2 still rides the bastion's connection: t1 gets a new one on it
	if got, want := c.logins(), "bastion=2 t1=2 t2=1"; got != want {
		t.Errorf("after t1's connection closed: logins %s, want %s", got, want)
	}
	c.must(c.fake("-O", "exit", "t1"))
	c.must(c.fake("-O", "exit", "t2"))
	c.waitLog(hopClosed)
	c.must(c.fake("t2", "true"))
	if got, want := c.logins(), "bastion=3 t1=2 t2=2"; got != want {
		t.Errorf("after every connection on the bastion closed: logins %s, want %s", got, want)
	}
}

// timeWarm times warm calls of a and b, interleaved, and returns their medians.
func timeWarm(c *chainRig, a, b []string, n int) (time.Duration, time.Duration) {
	c.t.Helper()
	c.must(c.fake(a...))
	c.must(c.fake(b...))
	var ta, tb []time.Duration
	for range n {
		start := time.Now()
		c.must(c.fake(a...))
		ta = append(ta, time.Since(start))
		start = time.Now()
		c.must(c.fake(b...))
		tb = append(tb, time.Since(start))
	}
	return median(ta), median(tb)
}

func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2].Round(10 * time.Microsecond)
}

// TestChainRsync: rsync through the chain copies byte for byte, both ways.
func TestChainRsync(t *testing.T) {
	testenv.NeedTool(t, "rsync")
	c := newChainRig(t, bastionAndTarget...)
	src := t.TempDir()
	sums := map[string]string{}
	for i, size := range []int64{0, 1, 4 << 10, 3 << 20} {
		name := fmt.Sprintf("f%d", i)
		sums[name] = sshdtest.RandomFile(t, filepath.Join(src, name), size)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	e := fmt.Sprintf("%s -F %s -J bastion", filepath.Join(binDir, "fakessh"), c.cfg)
	c.must(c.run(nil, "rsync", "-a", "-e", e, src+"/", "target:"+dst+"/"))
	back := t.TempDir()
	c.must(c.run(nil, "rsync", "-a", "-e", e, "target:"+dst+"/", back+"/"))
	for name, sum := range sums {
		for _, dir := range []string{dst, back} {
			if got := sshdtest.SHA256File(t, filepath.Join(dir, name)); got != sum {
				t.Errorf("%s in %s: sha256 %s, want %s", name, dir, got, sum)
			}
		}
	}
	if got, want := c.logins(), "bastion=1 target=1"; got != want {
		t.Errorf("logins %s, want %s", got, want)
	}
	if strings.Contains(c.daemonLog(), "ProxyCommand pid") {
		t.Error("a process was started")
	}
}
