package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/internal/ratelog"
	"github.com/mitogen-go/mitogend/internal/vis"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// Bounds on what a target sends before the agent's frames start, which it controls entirely.
const (
	// maxPreamble bounds the output a login shell may print before stage0's platform line
	// (a chatty .bashrc); a target that never ends its first line is refused here.
	maxPreamble = 64 << 10
	// maxLogLine cuts a line of a target's stderr in the daemon's log. The rest of the line is
	// read and dropped: a reader that stopped would stall the whole SSH channel.
	maxLogLine = 4 << 10
	// maxInfo bounds each string the agent says about itself in its hello.
	maxInfo = 64
)

// stage0 runs on the target under the login shell, with nothing installed there: it reports the
// platform, reads the agent (gzip-compressed when gzip exists), and runs it from a memfd (via
// perl's syscall, perl-base being essential on Debian) or else from a private temporary file that
// is unlinked before the agent starts. Either way nothing is left behind. The ssh channel stays
// the agent's stdin/stdout: fd 4 keeps it while the pipeline feeds the loader.
const stage0 = `u=$(uname -sm) || exit 1
p=; command -v perl >/dev/null 2>&1 && p=perl
z=; command -v gzip >/dev/null 2>&1 && z=gzip
echo "MITOGEN0 $u $p $z"
read n || exit 1
exec 4<&0
case $u in *x86_64) s=319;; *aarch64) s=279;; *) s=;; esac
d=cat; [ -n "$z" ] && d="gzip -dc"
if [ -n "$p" ] && [ -n "$s" ]; then
head -c "$n" | $d | exec perl -e 'my $n="mitogen-agent"; my $f=syscall($ARGV[0],$n,0); die "memfd: $!\n" if $f<0; open(my $o,">&=",$f) or die "open: $!\n"; binmode STDIN; while(my $r=sysread(STDIN,my $b,65536)){syswrite($o,$b)==$r or die "write: $!\n"} open(STDIN,"<&4") or die "stdin: $!\n"; exec {"/proc/self/fd/$f"} "mitogen-agent" or die "exec: $!\n"' "$s"
else
f=$(mktemp "${TMPDIR:-/tmp}/.mitogen-agent.XXXXXX") || exit 1
head -c "$n" | $d >"$f" && chmod 700 "$f" && exec 3<"$f" && rm -f "$f" && exec /proc/self/fd/3 <&4
rm -f "$f"; exit 1
fi`

// shellQuote quotes s for any Bourne-like login shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// bootstrapped is an agent running on the far end of one SSH session channel.
type bootstrapped struct {
	link  io.ReadWriteCloser
	hello router.Hello
	sent  int // agent bytes sent
}

// bootstrap starts the agent on client as context id. The session's stderr goes to logf.
func (d *Daemon) bootstrap(ctx context.Context, client *ssh.Client, id router.ID, dest string) (*bootstrapped, error) {
	ch, reqs, err := client.OpenChannel("session", nil)
	if err != nil {
		return nil, fmt.Errorf("daemon: %s: new session: %w", dest, err)
	}
	go ssh.DiscardRequests(reqs)
	ok := false
	defer func() {
		if !ok {
			ch.Close()
		}
	}()
	stop := context.AfterFunc(ctx, func() { ch.Close() })
	defer stop()
	lim := ratelog.New(100, time.Second)
	go drainLines(ch.Stderr(), maxLogLine, func(line string) { lim.Logf(d.logf, "%s: agent: %s", dest, vis.Safe(line)) })
	// exec without waiting for sshd's reply (ssh.Session.Start would): the platform line
	// answers anyway, and a refused exec shows as the channel closing. One round trip saved.
	exec := struct{ Command string }{"exec /bin/sh -c " + shellQuote(stage0)}
	if _, err := ch.SendRequest("exec", false, ssh.Marshal(&exec)); err != nil {
		return nil, fmt.Errorf("daemon: %s: starting bootstrap: %w", dest, err)
	}
	stdin := ch
	br := bufio.NewReaderSize(ch, 64<<10)
	pl, err := readPlatform(br, func(line string) { lim.Logf(d.logf, "%s: login shell said: %s", dest, vis.Cut(line, maxLogLine)) })
	if err != nil {
		return nil, fmt.Errorf("daemon: %s: bootstrap: %w", dest, err)
	}
	bin, err := d.agents.get(pl.goos, pl.goarch, pl.gzip)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(stdin, "%d\n", len(bin)); err != nil {
		return nil, fmt.Errorf("daemon: %s: sending agent: %w", dest, err)
	}
	if _, err := stdin.Write(bin); err != nil {
		return nil, fmt.Errorf("daemon: %s: sending agent: %w", dest, err)
	}
	hello, err := router.ReadHello(br)
	if err != nil {
		return nil, fmt.Errorf("daemon: %s: agent did not start: %w", dest, err)
	}
	if err := router.WriteHello(stdin, router.Hello{ID: id, Parent: 0}); err != nil {
		return nil, fmt.Errorf("daemon: %s: %w", dest, err)
	}
	ok = true
	return &bootstrapped{link: channelLink{br, ch}, hello: hello, sent: len(bin)}, nil
}

// channelLink is the agent's link: reads go through the buffer that read the platform line,
// writes and Close straight to the channel.
type channelLink struct {
	io.Reader
	ch ssh.Channel
}

func (c channelLink) Write(p []byte) (int, error) { return c.ch.Write(p) }
func (c channelLink) Close() error                { return c.ch.Close() }

// platformLine is what stage0 reports: the target's Go platform and whether it has gzip.
type platformLine struct {
	goos, goarch string
	gzip         bool
}

// errNoPlatform: the target closed or said too much before stage0's platform line.
var errNoPlatform = errors.New("no platform line")

// readPlatform reads up to stage0's platform line. Lines before it (what a login shell's rc
// files print) go to skipped; past maxPreamble bytes the target is refused.
func readPlatform(br *bufio.Reader, skipped func(string)) (platformLine, error) {
	read := 0
	for read < maxPreamble {
		line, err := br.ReadSlice('\n')
		read += len(line)
		switch {
		case err == bufio.ErrBufferFull:
			return platformLine{}, fmt.Errorf("%w: %d bytes without a newline", errNoPlatform, read)
		case err != nil:
			return platformLine{}, fmt.Errorf("%w: %w", errNoPlatform, err)
		}
		text := strings.TrimRight(string(line), "\r\n")
		if strings.HasPrefix(text, "MITOGEN0 ") {
			return parsePlatformLine(text)
		}
		skipped(text)
	}
	return platformLine{}, fmt.Errorf("%w in the first %d bytes", errNoPlatform, read)
}

// parsePlatformLine parses "MITOGEN0 <uname -s> <uname -m> [perl] [gzip]".
func parsePlatformLine(line string) (platformLine, error) {
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "MITOGEN0" {
		return platformLine{}, fmt.Errorf("unexpected platform line %q", line)
	}
	goos, goarch, err := platform(f[1], f[2])
	if err != nil {
		return platformLine{}, err
	}
	return platformLine{goos: goos, goarch: goarch, gzip: slices.Contains(f[3:], "gzip")}, nil
}

// drainLines hands each line r yields to f, cut at maxLine bytes, and keeps reading to EOF
// whatever comes.
func drainLines(r io.Reader, maxLine int, f func(string)) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		text := strings.TrimRight(string(line), "\r\n") // copied: the next read reuses line
		if err == bufio.ErrBufferFull {
			text += "..."
		}
		for err == bufio.ErrBufferFull {
			_, err = br.ReadSlice('\n')
		}
		if text != "" || err == nil {
			f(text)
		}
		if err != nil {
			return
		}
	}
}

// agentInfo is what the agent says of itself, bounded and escaped: a target may say anything.
func agentInfo(h router.Hello) proto.AgentInfo {
	pid, _ := strconv.Atoi(h.Info["pid"])
	return proto.AgentInfo{PID: max(pid, 0), OS: vis.Cut(h.Info["os"], maxInfo),
		Arch: vis.Cut(h.Info["arch"], maxInfo), Exe: vis.Cut(h.Info["exe"], maxInfo)}
}
