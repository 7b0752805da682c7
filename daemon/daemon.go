// Package daemon is mitogend: the root context (id 0) of the routed message bus. It listens on
// a Unix socket for local clients (fakessh), owns one SSH connection per destination
// (via package sshdial; through jump hosts and ProxyCommands as ssh resolves them, each jump
// host's connection shared by the destinations behind it), starts an agent on each target over
// one session of that connection, and routes frames between clients and agents. Forwarding (-L, -R, -D, -W) goes over the
// connection's own SSH channels, so the target sshd's policy applies.
//
// Targets are not trusted: they may call nothing here, each caller's host-key policy is checked
// again whenever it reuses a connection, and what a target sends before its agent's frames
// start is bounded.
//
// It is not the SSH transport (sshdial), not the stream layer (tunnel), and not a CLI: the
// mitogend command wraps Serve.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitogen-go/mitogend/internal/ratelog"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Config configures a daemon.
type Config struct {
	Socket      string        // Unix socket path
	IdleTimeout time.Duration // exit after this long without clients; 0 = never
	AgentDir    string        // directory holding mitogen-agent.<os>-<arch> builds
	AgentDirs   []string      // more directories searched after AgentDir (layout.AgentDirs)
	Logf        router.Logf
	// MaxConnects bounds the SSH connections being set up at once (DefaultMaxConnects if 0).
	MaxConnects int
	// MaxContexts bounds the contexts started through one SSH connection, at every depth
	// (DefaultMaxContexts if 0).
	MaxContexts int
	// NoSessionExec runs every command through the agent, never on an SSH session channel of
	// its own (sessionexec.go).
	NoSessionExec bool
	// Lanes is how many SSH channels (at most lanes.MaxLanes) a bulk command's stdin and
	// stdout are striped over on a connection whose round trip is LanesMinRTT or more
	// (lanes.go); below 2, none. With LanesMinRTT 0 every connection has them, loopback too.
	Lanes       int
	LanesMinRTT time.Duration
	// Ready, if set, is called once the socket accepts clients (or another daemon already serves it).
	Ready func()
}

// Daemon is one running mitogend. Its methods are safe for concurrent use.
type Daemon struct {
	cfg     Config
	logf    router.Logf
	r       *router.Router
	ep      *tunnel.Endpoint
	agents  *agentBinaries
	started time.Time
	nextID  atomic.Uint32
	stop    context.CancelCauseFunc
	refused *ratelog.Limiter // calls refused to targets: a flood must not flood the log

	hops        hopPool    // jump-host connections shared by the connections behind them (hoppool.go)
	slots       *dialSlots // connects in progress (dialpool.go)
	maxContexts int

	// mu protects conns, contexts, passed, clients, each conn's children and link (conn.go). It
	// is held for map work only: never while dialling, calling or sending, and never taken
	// inside the router's or the endpoint's locks (router.OnLinkDown runs with none held).
	mu       sync.Mutex
	conns    connTable
	contexts map[router.ID]*child     // every child context that started, by id
	passed   map[router.ID][]*os.File // what clients passed with their Hello (passfds.go)
	sessions sessionSlots             // command sessions open per connection (sessionexec.go)
	clients  int
	idle     chan struct{} // the client count changed, for the idle timer

	authAgent refTable[authAgentRelay] // -A commands run in agents for clients (authagent.go)
}

// SoftMemoryLimit is the heap limit mitogend runs its collector against (GOMEMLIMIT overrides):
// room for one link's queue at its bound (router.DefaultMaxQueue) and the rest of the daemon,
// so that a target that fills a queue before it is dropped cannot grow the process by the
// collector's GOGC factor on top.
const SoftMemoryLimit = router.DefaultMaxQueue + 64<<20

// ErrStopped is the cause when a client asked the daemon to stop.
var ErrStopped = errors.New("daemon: stopped by request")

// Serve runs a daemon until ctx ends, a client asks it to stop, or it has been idle for
// cfg.IdleTimeout. It returns nil when it stopped for one of those reasons.
func Serve(ctx context.Context, cfg Config) error {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	d := &Daemon{cfg: cfg, logf: cfg.Logf, agents: newAgentBinaries(cfg), started: time.Now(),
		conns: newConnTable(), contexts: map[router.ID]*child{}, passed: map[router.ID][]*os.File{}, idle: make(chan struct{}, 1), refused: ratelog.New(20, time.Second),
		slots: newDialSlots(cfg.MaxConnects), maxContexts: cfg.MaxContexts}
	if d.maxContexts <= 0 {
		d.maxContexts = DefaultMaxContexts
	}
	d.ep = tunnel.NewEndpoint(cfg.Logf)
	d.r = router.New(router.Config{ID: proto.Root, Handler: handler{d}, Logf: cfg.Logf, OnLinkDown: d.linkDown})
	d.ep.Attach(d.r)
	d.ep.HandleCall(proto.DaemonConnect, d.trusted(d.handleConnect))
	d.ep.HandleCall(proto.DaemonStatus, d.trusted(d.handleStatus))
	d.ep.HandleCall(proto.DaemonStop, d.trusted(d.handleStop))
	d.registerControl()
	d.registerForwarding()
	d.registerExecFDs()

	ln, err := listen(cfg.Socket)
	if errors.Is(err, errAlreadyServing) {
		cfg.Logf("daemon: another daemon serves %s", cfg.Socket)
		if cfg.Ready != nil {
			cfg.Ready()
		}
		return nil
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	d.stop = cancel
	go d.agents.warm()
	go d.acceptLoop(ctx, ln)
	go d.idleLoop(ctx)
	d.logf("daemon: pid %d serving %s", os.Getpid(), cfg.Socket)
	if cfg.Ready != nil {
		cfg.Ready()
	}
	<-ctx.Done()
	ln.close()
	d.closeAll()
	cause := context.Cause(ctx)
	d.logf("daemon: exiting: %v", cause)
	if errors.Is(cause, ErrStopped) || errors.Is(cause, errIdle) || errors.Is(cause, context.Canceled) {
		return nil
	}
	return cause
}

// handler is the daemon's router.Handler: its endpoint, after the daemon has seen which
// contexts are gone.
type handler struct{ d *Daemon }

func (h handler) HandleMessage(m *router.Message) {
	if m.Kind == router.KindDisconnect && m.Src != router.Unreachable {
		h.d.contextGone(m.Src)
	}
	h.d.ep.HandleMessage(m)
}

// trusted wraps a service so that only local clients may call it: a target must never steer
// the daemon.
func (d *Daemon) trusted(h tunnel.CallHandler) tunnel.CallHandler {
	return func(ctx context.Context, src router.ID, p []byte) ([]byte, error) {
		if src == proto.Root || !d.r.Trusted(src) {
			d.refused.Logf(d.logf, "daemon: refused call from untrusted context %d", src)
			return nil, errors.New("daemon: permission denied")
		}
		return h(ctx, src, p)
	}
}

func (d *Daemon) acceptLoop(ctx context.Context, ln *listener) {
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() == nil {
				d.stop(fmt.Errorf("daemon: accept: %w", err))
			}
			return
		}
		// Counted from accept, not from its hello: the idle timer must not fire under a client
		// that is still saying hello.
		d.clientCount(+1)
		go func() {
			if !d.admit(c) {
				d.clientCount(-1)
			}
		}()
	}
}

// admit checks the peer's credentials, exchanges hellos and attaches the client as a trusted
// context; the client is then counted until its link goes down.
func (d *Daemon) admit(c *net.UnixConn) bool {
	uid, pid, err := peerUID(c)
	if err != nil || uid != os.Getuid() {
		d.logf("daemon: refused client pid %d uid %d (want uid %d): %v", pid, uid, os.Getuid(), err)
		c.Close()
		return false
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	hello := &rightsReader{c: c}
	if _, err := router.ReadHello(hello); err != nil {
		d.logf("daemon: client pid %d: %v", pid, err)
		closeFiles(hello.files)
		c.Close()
		return false
	}
	id := router.ID(d.nextID.Add(1))
	if err := router.WriteHello(c, router.Hello{ID: id, Parent: proto.Root}); err != nil {
		closeFiles(hello.files)
		c.Close()
		return false
	}
	d.keepPassed(id, hello.files)
	c.SetDeadline(time.Time{})
	d.r.AddLink(c, router.LinkConfig{Name: fmt.Sprintf("client-%d(pid %d)", id, pid), Trusted: true, Peer: id})
	return true
}

func (d *Daemon) clientCount(delta int) {
	d.mu.Lock()
	d.clients += delta
	d.mu.Unlock()
	select {
	case d.idle <- struct{}{}:
	default: // a wake-up is already pending; the idle loop reads the count itself
	}
}

func (d *Daemon) clientsNow() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.clients
}

var errIdle = errors.New("daemon: idle timeout")

// idleLoop stops the daemon once no client has been connected for the idle timeout.
func (d *Daemon) idleLoop(ctx context.Context) {
	if d.cfg.IdleTimeout <= 0 {
		return
	}
	t := time.NewTimer(d.cfg.IdleTimeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.idle:
			t.Stop()
			if d.clientsNow() == 0 {
				t.Reset(d.cfg.IdleTimeout)
			}
		case <-t.C:
			if d.clientsNow() == 0 {
				d.stop(errIdle)
				return
			}
		}
	}
}

func (d *Daemon) linkDown(l *router.Link, lost []router.ID, err error) {
	if l.Trusted() { // a local client
		d.dropPassed(lost)
		d.clientCount(-1)
		return
	}
	d.mu.Lock()
	gone := d.conns.byLink[l]
	if gone != nil {
		d.conns.drop(gone)
	}
	d.mu.Unlock()
	if gone != nil {
		d.logf("daemon: %s: connection lost: %v", gone.dest, err)
		if gone.client != nil {
			d.sessions.forget(gone.client.Client)
			gone.client.Close() // the link is already down: closing it again would re-enter it
		}
	}
}

func (d *Daemon) handleStop(context.Context, router.ID, []byte) ([]byte, error) {
	d.stop(ErrStopped)
	return nil, nil
}

func (d *Daemon) closeAll() {
	d.mu.Lock()
	conns := d.conns.byKey
	d.conns = newConnTable()
	d.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	d.r.Close()
}
