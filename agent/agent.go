// Package agent is the context that runs on a target: a router node whose parent link is the
// SSH session it was started on, serving command execution (package emulation) to the
// controller's clients.
//
// It is small on purpose: every byte of the agent binary crosses the network at bootstrap, so it
// links neither golang.org/x/crypto/ssh nor any CLI framework. It is not a daemon either: it
// lives as long as its parent link, and the moment its transfers take to remove their
// temporary files once it is gone.
package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/emulation"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Config is what Run needs. In and Out are the link to the parent context.
type Config struct {
	In      io.Reader
	Out     io.WriteCloser
	Environ []string // the environment sshd gave us, before anything changed it
	Logf    router.Logf
}

// Run says hello, learns its context id, and serves until the parent link goes down.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	info := Info()
	if err := router.WriteHello(cfg.Out, router.Hello{Info: map[string]string{
		"pid": fmt.Sprint(info.PID), "os": info.OS, "arch": info.Arch, "exe": info.Exe,
	}}); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	h, err := router.ReadHello(cfg.In)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	ep := tunnel.NewEndpoint(cfg.Logf)
	r := router.New(router.Config{ID: h.ID, Handler: ep, Logf: cfg.Logf})
	ep.Attach(r)
	// A context started through another (sudo, su, a container) has the environment its
	// starter gave it, not sshd's.
	base := emulation.BaseEnv(cfg.Environ)
	if h.Parent != proto.Root {
		base = emulation.ContextEnv(cfg.Environ)
	}
	a := &agent{r: r, ep: ep, base: base, logf: cfg.Logf, children: map[router.ID]*router.Link{}}
	a.lanes.logf = cfg.Logf
	defer a.lanes.close()
	ep.ListenNew(proto.AgentExec, a.fromController(func(s *tunnel.Stream, payload []byte) { serveExec(a, s, payload) }))
	registerForwarding(a)
	registerTransfer(a)
	ep.HandleCall(proto.AgentStatus, a.callFromController(func(context.Context, router.ID, []byte) ([]byte, error) {
		i := info
		i.Streams = ep.Streams()
		return json.Marshal(i)
	}))
	ep.ListenNew(proto.AgentSpawn, a.fromDaemon(a.serveSpawn))
	ep.HandleCall(proto.AgentRoute, a.callFromDaemon(a.route))
	ep.HandleCall(proto.AgentDrop, a.callFromDaemon(a.drop))
	ep.HandleCall(proto.AgentLanes, a.callFromDaemon(a.lanes.path))
	link := r.AddLink(pipe{cfg.In, cfg.Out}, router.LinkConfig{Name: "parent", Parent: true, Trusted: true, Peer: h.Parent})
	select {
	case <-link.Done():
		// With the link, every stream failed: let the transfers remove their temporary files
		// before the process exits, which would cut them short and leave the files to the next
		// transfer into their directory.
		wait, cancel := context.WithTimeout(ctx, writerGrace)
		defer cancel()
		if n, err := a.writing.wait(wait); err != nil {
			cfg.Logf("agent: link lost: %d transfers still running after %v: %v", n, writerGrace, err)
		}
		return link.Err()
	case <-ctx.Done():
		r.Close()
		return context.Cause(ctx)
	}
}

// writerGrace bounds how long an agent whose link is gone waits for its transfers to remove
// their temporary files: an unlink each, once their streams have failed.
const writerGrace = 2 * time.Second

// agent is one running agent's shared state. Its fields are set before any service runs and
// read-only after, but for those with a mutex of their own (mu, writing's).
type agent struct {
	r    *router.Router
	ep   *tunnel.Endpoint
	base []string // the session environment (emulation.BaseEnv of what started us)
	logf router.Logf

	mu       sync.Mutex // protects children
	children map[router.ID]*router.Link

	writing inFlight // transfers, scp sinks and sftp sessions running (Run waits for them)
	lanes   laneHub  // lanes to the daemon, for commands' bulk data (lanes.go)

	buildOnce sync.Once // reads build
	build     []byte    // our own executable, for children on our platform
	buildErr  error
}

// Info describes this agent process.
func Info() proto.AgentInfo {
	exe := "file"
	if p, err := os.Readlink("/proc/self/exe"); err == nil {
		switch {
		case strings.HasPrefix(p, "/memfd:"):
			exe = "memfd"
		case strings.HasSuffix(p, " (deleted)"):
			exe = "deleted-file"
		default:
			exe = "file:" + filepath.Base(p)
		}
	}
	return proto.AgentInfo{PID: os.Getpid(), OS: runtime.GOOS, Arch: runtime.GOARCH, Exe: exe}
}

// pipe is the agent's parent link: its stdin and stdout.
type pipe struct {
	io.Reader
	io.WriteCloser
}

// Close closes both halves, so that Router.Close, which waits for the link's reader, finds it
// ended (where the reader's Close can end a Read in progress: a socket, a pollable pipe).
func (p pipe) Close() error {
	err := p.WriteCloser.Close()
	if c, ok := p.Reader.(io.Closer); ok {
		c.Close() // the same as the writer, in tests: a second Close is harmless
	}
	return err
}
