package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/mitogen-go/mitogend/test/sshdtest"
)

// xferRows: 2,000 small files and one 512 MiB file pushed with mitogend cp, scp through fakessh,
// and scp and rsync over an OpenSSH ControlMaster, on loopback and at 50 ms RTT. scp of the
// small files at 50 ms RTT is left out: it costs round trips per file (minutes a run).
func xferRows(r *rig) ([]Row, []string) {
	src := transferSource(r)
	mitogend := filepath.Join(r.bin, "mitogend")
	var rows []Row
	for _, n := range []*network{r.direct, r.slow} {
		warm(r, n)
		for _, set := range []struct {
			name string
			dir  string
			runs int
		}{{"512 MiB file", "big", runsBig}, {"2,000 x 4 KiB files", "small", runsSmall}} {
			dst := filepath.Join(r.dir, "xfer-dst")
			from := filepath.Join(src, set.dir)
			run := func(c *exec.Cmd) time.Duration {
				must(r.tb, os.RemoveAll(dst))
				return r.timed(c)
			}
			cp := func() time.Duration {
				c := exec.Command(mitogend, "cp", "-r", "-q", from, "target:"+dst)
				c.Env = r.env(n, n.socket)
				return run(c)
			}
			rsync := func() time.Duration {
				return run(exec.Command("rsync", "-a", "-e", r.sshE(n), from+"/", "target:"+dst+"/"))
			}
			scpFake := func() time.Duration {
				c := exec.Command("scp", "-r", "-q", "-S", filepath.Join(r.bin, "fakessh"), from, "target:"+dst)
				c.Env = r.env(n, n.socket)
				return run(c)
			}
			scpCM := func() time.Duration {
				return run(exec.Command("scp", "-r", "-q", "-F", n.config, "-o", "ControlPath="+n.cm, "-o", "ControlMaster=no", from, "target:"+dst))
			}
			name := set.name + ", " + n.name
			if n.rtt > 0 && set.dir == "small" {
				s := interleave(set.runs, cp, rsync)
				rows = append(rows, Row{Name: name, A: "mitogend cp", SA: s[0], B: "rsync (ControlMaster)", SB: s[1], Goal: "<= 1.0",
					Extra: fmt.Sprintf("A %.1f RTT, B %.1f RTT", float64(s[0].Median())/float64(n.rtt), float64(s[1].Median())/float64(n.rtt))})
				continue
			}
			s := interleave(set.runs, cp, rsync, scpFake, scpCM)
			rows = append(rows,
				Row{Name: name, A: "mitogend cp", SA: s[0], B: "rsync (ControlMaster)", SB: s[1], Goal: "<= 1.0"},
				Row{Name: name, A: "scp -S fakessh", SA: s[2], B: "scp (ControlMaster)", SB: s[3]})
		}
	}
	return rows, nil
}

// transferSource is the rsync rows' data, made here when those rows did not run.
func transferSource(r *rig) string {
	src := filepath.Join(r.dir, "rsync-src")
	if _, err := os.Stat(filepath.Join(src, "big", "big.bin")); err == nil {
		return src
	}
	sshdtest.RandomFile(r.tb, filepath.Join(src, "big", "big.bin"), bigFile)
	buf := make([]byte, 4096)
	for i := range smallN {
		p := filepath.Join(src, "small", fmt.Sprintf("d%02d", i/100), fmt.Sprintf("f%04d", i))
		if i%100 == 0 {
			must(r.tb, os.MkdirAll(filepath.Dir(p), 0o755))
		}
		buf[0], buf[1] = byte(i), byte(i>>8)
		must(r.tb, os.WriteFile(p, buf, 0o644))
	}
	return src
}
