// Package bootstrap is stage 0: how an agent starts at the far end of a byte stream whose
// other end runs a shell command line, with nothing installed there beforehand. The daemon
// speaks it over an SSH session channel; an agent speaks it over the pipes of a command it runs
// (sudo, su, a container runtime) to start a child context.
//
// The far end runs Command. It prints a platform line, reads a byte count and that many bytes of
// agent build, and runs the agent from memory with the stream as its stdin and stdout; the agent
// then says hello (router/spec.md, sections 2 and 8). Run is the near end's half. Everything the
// far end sends before the agent's frames is bounded here: it controls it entirely.
//
// It is not a transport and starts no process: callers bring the stream.
package bootstrap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/mitogen-go/mitogend/internal/shquote"
	"github.com/mitogen-go/mitogend/internal/vis"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// Bounds on what the far end sends before the agent's frames start.
const (
	// MaxPreamble bounds the output a login shell may print before the platform line (a chatty
	// .bashrc); a far end that never ends its first line is refused here.
	MaxPreamble = 64 << 10
	// MaxLogLine cuts a line of the far end's stderr for a log. DrainLines reads and drops the
	// rest of it: a reader that stopped would stall the whole stream (an SSH channel's window is
	// shared with stdout).
	MaxLogLine = 4 << 10
	// maxInfo bounds each string the agent says about itself in its hello.
	maxInfo = 64
)

// stage0 runs at the far end under /bin/sh, with nothing installed there: it reports the
// platform, reads the agent (gzip-compressed when the count line says "gz", which the near end
// may only say when the platform line reported gzip), and runs it from a memfd (via
// perl's syscall, perl-base being essential on Debian) or else from a private temporary file that
// is unlinked before the agent starts. Either way nothing is left behind. The stream stays the
// agent's stdin/stdout: fd 4 keeps it while the agent is read. The agent's argument is
// the pid of the shell that ran Command, which stays alive: its environment is sshd's (or sudo's)
// as given, before that shell and this one re-exported it in their own order and with their own
// additions.
//
// Command hands it to /bin/sh through the account's login shell, whatever that is, so it is one
// line that any shell reads the same inside single quotes: no quote, newline (csh refuses one
// inside quotes), "!" (csh expands history even there) or backslash before a backslash or a quote
// (fish unescapes those). The tests hold it to that.
var stage0 = strings.Join([]string{
	`u=$(uname -sm) || exit 1;`,
	`p=; command -v perl >/dev/null 2>&1 && p=perl;`,
	`z=; command -v gzip >/dev/null 2>&1 && z=gzip;`,
	`echo "MITOGEN0 $u $p $z";`,
	`read n c || exit 1;`,
	`exec 4<&0;`,
	memfdCase + `;`,
	`if [ -n "$p" ] && [ -n "$s" ]; then`,
	`exec perl -e "` + strings.ReplaceAll(memfdLoader, "$", `\$`) + `" "$s" "$PPID" "$n" "$c";`,
	`else`,
	`d=cat; [ "$c" = gz ] && d="gzip -dc";`,
	`f=$(mktemp "${TMPDIR:-/tmp}/.mitogen-agent.XXXXXX") || exit 1;`,
	`head -c "$n" | $d >"$f" && chmod 700 "$f" && exec 3<"$f" && rm -f "$f" && exec /proc/self/fd/3 "$PPID" <&4;`,
	`rm -f "$f"; exit 1;`,
	`fi`,
}, " ")

// memfdSyscalls are memfd_create's numbers by `uname -m`: where stage 0 has one and perl, the
// agent runs from a memfd and the loader acknowledges what it reads (Platform.Acks).
var memfdSyscalls = []struct {
	machine string
	nr      int
}{{"x86_64", 319}, {"aarch64", 279}}

// memfdCase sets s to memfd_create's number on this machine, or to nothing.
var memfdCase = func() string {
	c := "case $u in"
	for _, m := range memfdSyscalls {
		c += fmt.Sprintf(" *%s) s=%d;;", m.machine, m.nr)
	}
	return c + " *) s=;; esac"
}()

// AckUnit is how many bytes of the agent build (as sent) the memfd loader acknowledges with
// one "." on the stream, and AckWindow how many the near end sends ahead of the
// acknowledgements. Without them the whole build arrives while the loader starts: sshd buffers
// what its session's command has not read, growing its buffer a packet at a time and copying it
// whole each time, and that cost it more CPU per connect than the login (measured: 49 ms for the
// target side of a connect sent at once, 41 ms paced, 30-34 ms for a plain ssh login). The window
// is above what a TCP connection's window grows to in the few round trips the build takes.
const (
	AckUnit   = 64 << 10
	AckWindow = 512 << 10
)

// memfdLoader is the perl program that copies the agent into a memfd (syscall number in ARGV[0])
// and executes it with fd 4 as stdin and ARGV[1] as its argument. It reads exactly ARGV[2] bytes
// of the stream (sysread takes no byte past them), through gzip -dc when ARGV[3] is "gz" (gzip
// writes into the memfd, which perl has not opened and so not marked close-on-exec), and writes
// a "." to the stream for every AckUnit bytes read and for what is left at the end. It is
// written for sh's double quotes, which stage0 escapes its "$" for: no double quote, backquote or
// backslash but the newline escapes of its messages ($^E is errno, $! being csh's history
// character, which rules out perl's "!" operator too).
var memfdLoader = `my $n=q(mitogen-agent); my $f=syscall($ARGV[0],$n,0); die qq(memfd: $^E\n) if $f<0; my $z; ` +
	`if($ARGV[3] eq q(gz)){open($z,q(|-),qq(gzip -dc >&$f)) or die qq(gzip: $^E\n)} else {open($z,q(>&=),$f) or die qq(open: $^E\n)} ` +
	`binmode STDIN; binmode $z; my $l=$ARGV[2]; my $a=0; ` +
	`while($l>0){my $r=sysread(STDIN,my $b,$l>65536 ? 65536 : $l); die qq(read: $^E\n) unless defined $r; last unless $r; ` +
	`syswrite($z,$b)==$r or die qq(write: $^E\n); $l-=$r; $a+=$r; while($a>=` + strconv.Itoa(AckUnit) + `){syswrite(STDOUT,q(.)); $a-=` + strconv.Itoa(AckUnit) + `}} ` +
	`die qq(agent cut short\n) if $l>0; syswrite(STDOUT,q(.)) if $a>0; ` +
	`if($ARGV[3] eq q(gz)){close($z) or die qq(gzip: the agent did not decompress\n)} ` +
	`open(STDIN,q(<&4)) or die qq(stdin: $^E\n); exec {qq(/proc/self/fd/$f)} q(mitogen-agent), $ARGV[1] or die qq(exec: $^E\n)`

// Command is the command line that starts stage 0. It means the same to every login shell sshd,
// su or sudo may run it with: sh, dash, bash, zsh, fish, tcsh and csh. "; exit" keeps the shell
// from exec'ing /bin/sh, so that it lives on beside the agent with its environment (csh then
// exits 0 whatever stage 0 did; nobody reads that status).
func Command() string { return "/bin/sh -c " + shquote.Quote(stage0) + "; exit" }

// Platform is what the far end reports: its Go platform, whether it has gzip, and whether its
// loader acknowledges what it reads (a memfd loader: perl, and memfd_create's number known).
type Platform struct {
	GOOS, GOARCH string
	Gzip         bool
	Acks         bool
}

// Agents gives the agent build for a platform, and whether it is gzip-compressed, which it may
// only be when p.Gzip says the far end can decompress it.
type Agents func(p Platform) (build []byte, gzipped bool, err error)

// Run is the near end of stage 0 over br (what the far end writes) and w (what it reads), once
// the far end runs Command: it reads the platform line (lines before it go to skipped), sends
// the agent build, reads the agent's hello and answers it with the agent's context id and its
// parent's. It returns the hello and the bytes of agent sent; br then holds the agent's frames.
func Run(br *bufio.Reader, w io.Writer, agents Agents, id, parent router.ID, skipped func(string)) (router.Hello, int, error) {
	p, err := ReadPlatform(br, skipped)
	if err != nil {
		return router.Hello{}, 0, fmt.Errorf("bootstrap: %w", err)
	}
	bin, gz, err := agents(p)
	if err != nil {
		return router.Hello{}, 0, err
	}
	how := ""
	if gz && p.Gzip {
		how = " gz"
	}
	if _, err := fmt.Fprintf(w, "%d%s\n", len(bin), how); err != nil {
		return router.Hello{}, 0, fmt.Errorf("bootstrap: sending agent: %w", err)
	}
	send := sendAll
	if p.Acks {
		send = sendPaced
	}
	if err := send(br, w, bin); err != nil {
		return router.Hello{}, 0, fmt.Errorf("bootstrap: sending agent: %w", err)
	}
	hello, err := router.ReadHello(br)
	if err != nil {
		return router.Hello{}, len(bin), fmt.Errorf("bootstrap: agent did not start: %w", err)
	}
	if err := router.WriteHello(w, router.Hello{ID: id, Parent: parent}); err != nil {
		return router.Hello{}, len(bin), fmt.Errorf("bootstrap: %w", err)
	}
	return hello, len(bin), nil
}

// ErrNoPlatform: the far end closed or said too much before the platform line.
var ErrNoPlatform = errors.New("no platform line")

// ReadPlatform reads up to the platform line. Lines before it (what a login shell's rc files
// print) go to skipped; past MaxPreamble bytes the far end is refused. br must buffer at least
// MaxPreamble bytes.
func ReadPlatform(br *bufio.Reader, skipped func(string)) (Platform, error) {
	read := 0
	for read < MaxPreamble {
		line, err := br.ReadSlice('\n')
		read += len(line)
		switch {
		case err == bufio.ErrBufferFull:
			return Platform{}, fmt.Errorf("%w: %d bytes without a newline", ErrNoPlatform, read)
		case err != nil:
			return Platform{}, fmt.Errorf("%w: %w", ErrNoPlatform, err)
		}
		text := strings.TrimRight(string(line), "\r\n")
		if strings.HasPrefix(text, "MITOGEN0 ") {
			return ParsePlatformLine(text)
		}
		skipped(text)
	}
	return Platform{}, fmt.Errorf("%w in the first %d bytes", ErrNoPlatform, read)
}

// ParsePlatformLine parses "MITOGEN0 <uname -s> <uname -m> [perl] [gzip]".
func ParsePlatformLine(line string) (Platform, error) {
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != "MITOGEN0" {
		return Platform{}, fmt.Errorf("unexpected platform line %q", line)
	}
	goos, goarch, err := goPlatform(f[1], f[2])
	if err != nil {
		return Platform{}, err
	}
	acks := false
	for _, m := range memfdSyscalls {
		acks = acks || (slices.Contains(f[3:], "perl") && strings.HasSuffix(f[2], m.machine))
	}
	return Platform{GOOS: goos, GOARCH: goarch, Gzip: slices.Contains(f[3:], "gzip"), Acks: acks}, nil
}

// goPlatform maps `uname -s` and `uname -m` to Go's names.
func goPlatform(sysname, machine string) (goos, goarch string, err error) {
	switch sysname {
	case "Linux":
		goos = "linux"
	case "Darwin":
		goos = "darwin"
	case "FreeBSD":
		goos = "freebsd"
	default:
		return "", "", fmt.Errorf("bootstrap: unsupported target system %q", sysname)
	}
	switch machine {
	case "x86_64", "amd64":
		goarch = "amd64"
	case "aarch64", "arm64":
		goarch = "arm64"
	case "i386", "i486", "i586", "i686":
		goarch = "386"
	case "armv6l", "armv7l":
		goarch = "arm"
	default:
		return "", "", fmt.Errorf("bootstrap: unsupported target machine %q", machine)
	}
	return goos, goarch, nil
}

// DrainLines hands each line r yields to f, cut at maxLine bytes, and keeps reading to EOF
// whatever comes.
func DrainLines(r io.Reader, maxLine int, f func(string)) {
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

// Info is what an agent says of itself in its hello, bounded and escaped: the far end may say
// anything.
func Info(h router.Hello) proto.AgentInfo {
	pid, _ := strconv.Atoi(h.Info["pid"])
	return proto.AgentInfo{PID: max(pid, 0), OS: vis.Cut(h.Info["os"], maxInfo),
		Arch: vis.Cut(h.Info["arch"], maxInfo), Exe: vis.Cut(h.Info["exe"], maxInfo)}
}

// Rest is the stream after stage 0: what br (which read the platform line and the hello from r)
// holds, then r itself. The link reads through this rather than through br, so that br's buffer
// of MaxPreamble is not kept for as long as the agent runs: idle targets by the hundred add up.
func Rest(br *bufio.Reader, r io.Reader) io.Reader {
	n := br.Buffered()
	if n == 0 {
		return r
	}
	held, _ := br.Peek(n)
	return io.MultiReader(bytes.NewReader(bytes.Clone(held)), r)
}
