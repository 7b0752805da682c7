package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mitogen-go/mitogend/client"
	"github.com/mitogen-go/mitogend/transfer"
)

// StatusError ends mitogend with an exit status of its own, its messages already printed.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Status is the exit status.
func (e *StatusError) Status() int { return e.Code }

const cpUsage = "usage: mitogend cp [-pqr] [--checksum] [--resume] [-F ssh_config] [-i identity_file] [-J destination] [-o ssh_option] [-P port] source ... target"

// cpCommand is `mitogend cp`: scp's arguments ([user@]host:path, or a named chain's name, on
// one side), each file replaced atomically on the receiving side (package transfer).
func cpCommand(stdio Stdio) *ucli.Command {
	return &ucli.Command{
		Name:      "cp",
		Usage:     "copy files to or from a target; each destination is the old file or the new, never a mix",
		ArgsUsage: "[[user@]host:]source ... [[user@]host:]target",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "r", Usage: "copy directories and what they hold"},
			&ucli.BoolFlag{Name: "p", Usage: "keep modes and times"},
			&ucli.BoolFlag{Name: "q", Usage: "no progress bar and no summary"},
			&ucli.BoolFlag{Name: "checksum", Usage: "skip files whose destination already holds the same content (sha256)"},
			&ucli.BoolFlag{Name: "resume", Usage: "keep partial files of an interrupted copy, and go on from them"},
			&ucli.StringSliceFlag{Name: "o", Usage: "ssh option, as ssh -o takes it"},
			&ucli.StringFlag{Name: "F", Usage: "ssh configuration file"},
			&ucli.StringFlag{Name: "i", Usage: "identity file"},
			&ucli.StringFlag{Name: "J", Usage: "jump host, as ssh -J"},
			&ucli.StringFlag{Name: "P", Usage: "port"},
		},
		Action: func(c *ucli.Context) error { return runCp(c, stdio) },
	}
}

func runCp(c *ucli.Context, stdio Stdio) error {
	args := c.Args().Slice()
	if len(args) < 2 {
		fmt.Fprintln(stdio.Stderr, cpUsage)
		return &StatusError{1}
	}
	job, err := planCopy(args[:len(args)-1], args[len(args)-1])
	if err != nil {
		fmt.Fprintf(stdio.Stderr, "mitogend cp: %v\n", err)
		return &StatusError{1}
	}
	conn, err := client.Connect(c.Context, sshArgs(c), job.host, clientStdio(stdio))
	if err != nil {
		code, msg := client.ExitCode(err)
		fmt.Fprint(stdio.Stderr, msg)
		return &StatusError{code}
	}
	defer conn.Close()
	tty := isTerminal(stdio.Stderr) && !c.Bool("q")
	bar := newProgress(stdio.Stderr, tty)
	o := transfer.Options{Recursive: c.Bool("r"), Preserve: c.Bool("p"), Checksum: c.Bool("checksum"),
		Resume: c.Bool("resume"), Start: bar.start, Progress: bar.add}
	run := transfer.Push
	if !job.push {
		run = transfer.Pull
	}
	sum, err := run(c.Context, conn.Endpoint(), conn.Context(), job.sources, job.target, o)
	bar.finish()
	for _, e := range sum.Errors {
		fmt.Fprintf(stdio.Stderr, "mitogend cp: %s\n", e)
	}
	if err != nil {
		if c.Context.Err() != nil {
			return &StatusError{1}
		}
		code, msg := client.ExitCode(conn.Lost(err))
		fmt.Fprint(stdio.Stderr, msg)
		return &StatusError{code}
	}
	if tty {
		bar.summary(sum)
	}
	if len(sum.Errors) > 0 {
		return &StatusError{1}
	}
	return nil
}

// copyJob is a cp command line understood: one remote host, sources on one side.
type copyJob struct {
	host    string
	push    bool
	sources []string
	target  string
}

func planCopy(sources []string, target string) (copyJob, error) {
	th, tp, remoteTarget := splitRemote(target)
	job := copyJob{push: remoteTarget, target: tp, host: th}
	for _, s := range sources {
		h, p, remote := splitRemote(s)
		switch {
		case remote && remoteTarget:
			return job, fmt.Errorf("%s: copies between two remote hosts are not supported", s)
		case !remote && !remoteTarget:
			return job, fmt.Errorf("%s: no remote host on either side (use host:path)", target)
		case remote && job.host != "" && h != job.host:
			return job, fmt.Errorf("%s: sources on several hosts are not supported", s)
		case remote:
			job.host = h
		}
		job.sources = append(job.sources, p)
	}
	if !remoteTarget {
		job.target = target
	}
	return job, nil
}

// splitRemote splits [user@]host:path as scp does: a colon before any slash, an IPv6 address in
// brackets; "/..." and "./..." are local whatever they hold.
func splitRemote(arg string) (host, path string, remote bool) {
	if arg == "" || arg[0] == '/' || strings.HasPrefix(arg, "./") {
		return "", arg, false
	}
	if at := strings.Index(arg, "@["); arg[0] == '[' || at >= 0 {
		if end := strings.Index(arg, "]:"); end > 0 {
			host := strings.Replace(arg[:end+1], "[", "", 1)
			return strings.TrimSuffix(host, "]"), arg[end+2:], true
		}
	}
	i := strings.IndexByte(arg, ':')
	if i <= 0 || strings.Contains(arg[:i], "/") {
		return "", arg, false
	}
	return arg[:i], arg[i+1:], true
}

// sshArgs are the ssh options cp passes on.
func sshArgs(c *ucli.Context) []string {
	var a []string
	for _, o := range c.StringSlice("o") {
		a = append(a, "-o", o)
	}
	for flag, ssh := range map[string]string{"F": "-F", "i": "-i", "J": "-J", "P": "-p"} {
		if v := c.String(flag); v != "" {
			a = append(a, ssh, v)
		}
	}
	return a
}

// clientStdio is what client.Connect reads of the environment: the variables fakessh uses.
func clientStdio(stdio Stdio) client.Stdio {
	var env []string
	for _, k := range []string{"HOME", "USER", "PATH", "SHELL", "SSH_AUTH_SOCK", "MITOGEN_SOCKET", "MITOGEND",
		"MITOGEN_CHAINS", "XDG_RUNTIME_DIR", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "DISPLAY"} {
		if v := stdio.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return client.Stdio{Stdout: stdio.Stdout, Stderr: stdio.Stderr, Environ: env}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progress is the bar on a terminal: bytes, rate, ETA, redrawn at most five times a second.
type progress struct {
	w     io.Writer
	on    bool
	total int64
	done  int64
	began time.Time
	drawn time.Time
	shown bool
}

func newProgress(w io.Writer, on bool) *progress { return &progress{w: w, on: on, began: time.Now()} }

func (p *progress) start(total int64) { p.total, p.began = total, time.Now() }

func (p *progress) add(n int64) {
	p.done += n
	if p.on && time.Since(p.drawn) >= 200*time.Millisecond {
		p.draw()
	}
}

func (p *progress) draw() {
	p.drawn, p.shown = time.Now(), true
	el := time.Since(p.began).Seconds()
	rate := float64(p.done) / max(el, 1e-3)
	line := fmt.Sprintf("%9s  %9s/s", size(p.done), size(int64(rate)))
	if p.total > 0 {
		pct := float64(p.done) / float64(p.total)
		eta := time.Duration(float64(p.total-p.done)/max(rate, 1)) * time.Second
		bar := strings.Repeat("#", int(pct*20)) + strings.Repeat(".", 20-int(pct*20))
		line += fmt.Sprintf("  [%s] %3.0f%%  ETA %s", bar, pct*100, eta.Round(time.Second))
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
}

func (p *progress) finish() {
	if p.on && p.shown {
		p.draw()
		fmt.Fprint(p.w, "\n")
	}
}

func (p *progress) summary(s transfer.Summary) {
	el := time.Since(p.began)
	fmt.Fprintf(p.w, "%d files, %s in %s (%s/s)", s.Files, size(s.Bytes), el.Round(time.Millisecond), size(int64(float64(s.Bytes)/max(el.Seconds(), 1e-3))))
	if s.Skipped > 0 {
		fmt.Fprintf(p.w, ", %d unchanged", s.Skipped)
	}
	if len(s.Errors) > 0 {
		fmt.Fprintf(p.w, ", %d failed", len(s.Errors))
	}
	fmt.Fprintln(p.w)
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
