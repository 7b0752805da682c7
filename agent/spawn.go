package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mitogen-go/mitogend/emulation"
	"github.com/mitogen-go/mitogend/internal/bootstrap"
	"github.com/mitogen-go/mitogend/internal/syserr"
	"github.com/mitogen-go/mitogend/internal/vis"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// maxTranscript bounds what a child's terminal output is kept for prompts and failure reports.
const maxTranscript = 16 << 10

// exitWait bounds the wait for a child that failed to bootstrap to exit by itself.
const exitWait = 5 * time.Second

// serveSpawn starts a child context as proto.AgentSpawn describes: the command runs with its
// stdin and stdout on pipes (the child's link, once stage 0 has run over them) and its stderr on
// a pseudo-terminal that is its controlling terminal, so that sudo, su and doas can prompt and
// requiretty holds.
func (a *agent) serveSpawn(s *tunnel.Stream, payload []byte) {
	defer s.Close()
	var req proto.SpawnRequest
	if err := json.Unmarshal(payload, &req); err != nil || len(req.Argv) == 0 || req.ID == 0 {
		spawnFailed(s, proto.SpawnFailure{Status: -1, Reason: fmt.Sprintf("agent: bad spawn request (%v)", err)})
		return
	}
	c, err := a.startChild(req)
	if err != nil {
		spawnFailed(s, proto.SpawnFailure{Status: -1, Reason: err.Error()})
		return
	}
	tty := &ttyWatch{c: c, s: s, prompts: req.Prompts, strip: req.Strip, answerOn: req.AnswerOn, logf: a.logf, name: req.Name, done: make(chan struct{})}
	go tty.run()
	go tty.answers()
	br := bufio.NewReaderSize(c.stdout, bootstrap.MaxPreamble)
	skipped := func(line string) {
		a.logf("agent: child %d (%s) said: %s", req.ID, req.Name, vis.Cut(line, bootstrap.MaxLogLine))
	}
	hello, _, err := bootstrap.Run(br, c.stdin, a.childBuild, req.ID, a.r.ID(), skipped)
	if err != nil {
		c.stdin.Close()
		status := c.waitExit(exitWait)
		spawnFailed(s, proto.SpawnFailure{Output: tty.output(), Status: status, Reason: err.Error()})
		c.stdout.Close()
		c.end()
		return
	}
	tty.started()
	link := a.r.AddLink(childLink{bootstrap.Rest(br, c.stdout), c}, router.LinkConfig{Name: fmt.Sprintf("child-%d(%s)", req.ID, req.Name), Peer: req.ID})
	a.mu.Lock()
	a.children[req.ID] = link
	a.mu.Unlock()
	info, _ := json.Marshal(bootstrap.Info(hello))
	s.SendRequest(proto.ReqSpawned, info)
	go func() {
		<-link.Done()
		a.mu.Lock()
		delete(a.children, req.ID)
		a.mu.Unlock()
		c.end()
	}()
}

// drop is proto.AgentDrop: close the link to one of our children.
func (a *agent) drop(_ context.Context, _ router.ID, p []byte) ([]byte, error) {
	var req proto.RouteRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, fmt.Errorf("agent: bad drop request: %w", err)
	}
	a.mu.Lock()
	link := a.children[req.ID]
	a.mu.Unlock()
	if link == nil {
		return nil, fmt.Errorf("agent: no child context %d", req.ID)
	}
	link.Close()
	return nil, nil
}

func spawnFailed(s *tunnel.Stream, f proto.SpawnFailure) {
	b, _ := json.Marshal(f)
	s.SendRequest(proto.ReqSpawnFailed, b)
}

// route is proto.AgentRoute: a context two or more levels below us, behind one of ours.
func (a *agent) route(_ context.Context, _ router.ID, p []byte) ([]byte, error) {
	var req proto.RouteRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, fmt.Errorf("agent: bad route request: %w", err)
	}
	if req.Via == a.r.ID() || !a.r.Reachable(req.Via) || a.r.Trusted(req.Via) {
		return nil, fmt.Errorf("agent: context %d does not lie behind context %d", req.Via, a.r.ID())
	}
	return nil, a.r.AddRoute(req.ID, req.Via)
}

// child is a command started for a child context.
type child struct {
	proc   *os.Process
	stdin  *os.File
	stdout *os.File
	tty    *os.File // the terminal's master side

	exited chan struct{} // closed when cmd has been waited for
	status int
}

func (a *agent) startChild(req proto.SpawnRequest) (*child, error) {
	master, slave, err := emulation.OpenPTY()
	if err != nil {
		return nil, fmt.Errorf("agent: pty: %w", err)
	}
	defer slave.Close()
	inR, inW, err := os.Pipe()
	if err != nil {
		master.Close()
		return nil, err
	}
	defer inR.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		master.Close()
		inW.Close()
		return nil, err
	}
	defer outW.Close()
	prog, err := lookPath(req.Argv[0], a.base)
	if err == nil {
		var proc *os.Process
		proc, err = os.StartProcess(prog, req.Argv, &os.ProcAttr{
			Env: a.base, Files: []*os.File{inR, outW, slave},
			Sys: &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 2},
		})
		if err == nil {
			c := &child{proc: proc, stdin: inW, stdout: outR, tty: master, exited: make(chan struct{})}
			go c.reap()
			return c, nil
		}
	}
	master.Close()
	inW.Close()
	outR.Close()
	return nil, fmt.Errorf("%s: %s", req.Argv[0], syserr.Text(err))
}

// lookPath finds prog in env's PATH, as execvp would for the command.
func lookPath(prog string, env []string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, nil
	}
	for _, kv := range env {
		if path, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range strings.Split(path, ":") {
				if p := dir + "/" + prog; syscall.Access(p, 1) == nil {
					return p, nil
				}
			}
		}
	}
	return "", os.ErrNotExist
}

func (c *child) reap() {
	st, err := c.proc.Wait()
	c.status = -1
	if err == nil {
		c.status = st.ExitCode()
	}
	close(c.exited)
}

// waitExit waits a while for the child to exit and returns its status, or -1.
func (c *child) waitExit(d time.Duration) int {
	select {
	case <-c.exited:
		return c.status
	case <-time.After(d):
		c.end()
		return -1
	}
}

// end stops the child (its session gets SIGHUP from the terminal's hang-up, then SIGKILL) and
// closes our ends of its stdin and terminal; it may run more than once.
func (c *child) end() {
	c.stdin.Close()
	c.tty.Close()
	select {
	case <-c.exited:
	case <-time.After(exitWait):
		syscall.Kill(-c.proc.Pid, syscall.SIGKILL)
	}
}

// childLink is the child's link: reads take what the reader that ran stage 0 holds, then the
// child's stdout; writes go to its stdin.
type childLink struct {
	r io.Reader
	c *child
}

func (l childLink) Read(p []byte) (int, error)  { return l.r.Read(p) }
func (l childLink) Write(p []byte) (int, error) { return l.c.stdin.Write(p) }
func (l childLink) Close() error {
	l.c.stdin.Close()
	return l.c.stdout.Close()
}

// childBuild is a bootstrap.Agents for our children: our own executable when the child runs on
// our platform, so that the agent's bytes never cross the network again. Sent plain: the pipe is
// local, and compressing would cost the agent the size of a compressor.
func (a *agent) childBuild(p bootstrap.Platform) ([]byte, bool, error) {
	if p.GOOS != runtime.GOOS || p.GOARCH != runtime.GOARCH {
		return nil, false, fmt.Errorf("agent: no agent build for %s/%s here (this one is %s/%s)", p.GOOS, p.GOARCH, runtime.GOOS, runtime.GOARCH)
	}
	a.buildOnce.Do(func() { a.build, a.buildErr = os.ReadFile("/proc/self/exe") })
	return a.build, false, a.buildErr
}

// ttyWatch reads a child's terminal: until the child agent starts, it finds prompts, relays
// them to the daemon and writes the answers back; afterwards it logs what comes (the child
// agent's own stderr).
type ttyWatch struct {
	c        *child
	s        *tunnel.Stream
	prompts  []string
	strip    string
	answerOn string
	logf     router.Logf
	name     string

	done chan struct{} // closed when the terminal hangs up: every process holding it is gone

	mu      sync.Mutex // protects since, up, waiting
	since   []byte     // terminal output since the last answer
	up      bool       // the child agent runs: output is its log
	waiting bool       // a prompt was relayed and awaits its answer
}

func (w *ttyWatch) run() {
	defer close(w.done)
	buf := make([]byte, 4096)
	for {
		n, err := w.c.tty.Read(buf)
		if n > 0 {
			w.saw(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (w *ttyWatch) saw(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.up {
		for _, line := range strings.Split(strings.TrimRight(string(b), "\r\n"), "\n") {
			w.logf("agent: child (%s): %s", w.name, vis.Cut(strings.TrimRight(line, "\r"), bootstrap.MaxLogLine))
		}
		return
	}
	w.since = append(w.since, b...)
	if len(w.since) > maxTranscript {
		w.since = w.since[len(w.since)-maxTranscript:]
	}
	if w.waiting || !isPrompt(w.since, w.prompts) {
		return
	}
	w.waiting = true
	req, _ := json.Marshal(proto.PromptRequest{Prompt: w.shown()})
	w.s.SendRequest(proto.ReqPrompt, req)
}

// isPrompt reports whether out ends in a prompt: a last line holding one of the markers and
// ending in ':'.
func isPrompt(out []byte, markers []string) bool {
	last := string(out[bytes.LastIndexByte(out, '\n')+1:])
	if !strings.HasSuffix(strings.TrimRight(last, " \t"), ":") {
		return false
	}
	last = strings.ToLower(last)
	for _, m := range markers {
		if strings.Contains(last, strings.ToLower(m)) {
			return true
		}
	}
	return false
}

// shown is the terminal output since the last answer as the user should see it: without the
// carriage returns and the newline the terminal echoed for the last answer, and without the
// daemon's marker.
func (w *ttyWatch) shown() string {
	t := strings.ReplaceAll(string(w.since), "\r", "")
	t = strings.TrimLeft(t, "\n")
	if w.strip != "" {
		t = strings.ReplaceAll(t, w.strip, "")
	}
	return t
}

// answers writes each answer the daemon relays where the command reads it. No answer (the
// user has none to give) is an end of input: the command says so in its own words.
func (w *ttyWatch) answers() {
	for r := range w.s.Requests() {
		if r.Name != proto.ReqAnswer {
			continue
		}
		var a proto.PromptReply
		json.Unmarshal(r.Payload, &a)
		w.mu.Lock()
		w.since, w.waiting = nil, false
		w.mu.Unlock()
		dst := io.Writer(w.c.tty)
		if w.answerOn == "stdin" {
			dst = w.c.stdin
		}
		switch {
		case a.NoAnswer && w.answerOn == "stdin":
			w.c.stdin.Close()
		case a.NoAnswer:
			dst.Write([]byte{4}) // VEOF: read() returns 0 to the password reader
		default:
			io.WriteString(dst, a.Answer+"\n")
		}
	}
}

// started says the child agent runs: its terminal output is its log from now on.
func (w *ttyWatch) started() {
	w.mu.Lock()
	w.up = true
	w.since = nil
	w.mu.Unlock()
}

// output is what the command said since the last answer, as it would read on a terminal: what
// a failed spawn reports (sudo's "Sorry, try again." and the like). The command has exited; its
// last words are in once the terminal hangs up, or, should something it started still hold the
// terminal, after a while.
func (w *ttyWatch) output() string {
	select {
	case <-w.done:
	case <-time.After(time.Second):
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.shown()
}
