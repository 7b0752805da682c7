package daemon

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitogen-go/mitogend/sshdial"
)

// hopConn is the SSH connection to one jump host of a chain, shared by every connection that
// rides it (each a direct-tcpip channel on it), whatever their destinations: it is keyed by the
// chain up to and including that hop. It is opened once, by the first caller that needs it,
// and closed when nothing rides it any more. Fields other than refs are set before ready is
// closed and read-only after.
type hopConn struct {
	key    string
	name   string // user@host:port, for the log
	host   string // the HostName, as ssh names it in "Connection to HOST closed by remote host."
	ready  chan struct{}
	err    error
	client *sshdial.Client
	via    *hopConn      // the hop whose channel carries this one; nil for a chain's first
	done   chan struct{} // closed once the SSH transport is gone
	refs   int           // guarded by hopPool.mu: the connections riding it and the callers setting one up

	lost atomic.Pointer[string] // set once its keepalives (ServerAliveInterval of its own) gave up
}

// hopPool holds the open hop connections. Its lock is never held while dialing: callers
// opening different hops, or riding one that is up, do not wait for each other.
type hopPool struct {
	mu   sync.Mutex
	hops map[string]*hopConn
}

// get takes a reference on the connection for key, or creates it (fresh: the caller must open
// it). One whose transport is gone is passed over, though its riders still hold it.
func (p *hopPool) get(key string, h hop) (hc *hopConn, fresh bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	hc = p.hops[key]
	if hc == nil || isClosed(hc.done) || (isClosed(hc.ready) && hc.err != nil) {
		if p.hops == nil {
			p.hops = map[string]*hopConn{}
		}
		hc = &hopConn{key: key, name: destination(h.target), host: h.target.HostName,
			ready: make(chan struct{}), done: make(chan struct{})}
		p.hops[key] = hc
		fresh = true
	}
	hc.refs++
	return hc, fresh
}

// release drops a reference; the last one closes the connection.
func (p *hopPool) release(hc *hopConn) {
	p.mu.Lock()
	hc.refs--
	last := hc.refs == 0
	if last && p.hops[hc.key] == hc {
		delete(p.hops, hc.key)
	}
	p.mu.Unlock()
	if last && hc.client != nil {
		hc.client.Close()
	}
}

// forget drops hc from the pool, so that the next caller opens a new one; its riders keep it.
func (p *hopPool) forget(hc *hopConn) {
	p.mu.Lock()
	if p.hops[hc.key] == hc {
		delete(p.hops, hc.key)
	}
	p.mu.Unlock()
}

// count is how many hop connections are open or opening, and how many references they hold.
func (p *hopPool) count() (conns, refs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, hc := range p.hops {
		conns++
		refs += hc.refs
	}
	return conns, refs
}

// hopProbeTimeout bounds the wait for a hop to answer the probe that tells a hop that went from
// one that is still up.
const hopProbeTimeout = 3 * time.Second

// gone reports whether the hop's connection has ended. A transport that is still finishing is
// found by a keepalive request, which a dead connection fails at once and a live one answers.
func (hc *hopConn) gone() bool {
	if isClosed(hc.done) {
		return true
	}
	answer := make(chan error, 1)
	go func() {
		_, _, err := hc.client.SendRequest("keepalive@openssh.com", true, nil)
		answer <- err
	}()
	select {
	case err := <-answer:
		return err != nil
	case <-hc.done:
		return true
	case <-time.After(hopProbeTimeout):
		return false
	}
}

// hopsGone words, as ssh -J does, the end of a connection to dest whose jump host went under
// it. "" when every hop is still up. A hop that closed: its ssh says so, then each ssh riding
// it, down to the caller's, finds its own connection closed (ssh's processes race there, and
// sometimes print fewer lines or "client_loop: send disconnect: Broken pipe"; this is the
// ending that says the most). A hop whose keepalives gave up: its ssh says "Timeout, server HOP
// not responding." and exits at once, so each ssh riding it fails to send its disconnect into
// the pipe, as ssh does every time.
func hopsGone(hops []*hopConn, dest string) string {
	for i, hc := range hops {
		if !hc.gone() {
			continue
		}
		if p := hc.lost.Load(); p != nil {
			lines := []string{*p}
			for range len(hops) - i {
				lines = append(lines, "client_loop: send disconnect: Broken pipe")
			}
			return strings.Join(lines, "\n")
		}
		var lines []string
		for _, h := range hops[i:] {
			lines = append(lines, fmt.Sprintf("Connection to %s closed by remote host.", h.host))
		}
		return strings.Join(append(lines, fmt.Sprintf("Connection to %s closed by remote host.", dest)), "\n")
	}
	return ""
}

// waitReady waits for hc to be opened, or ctx to end.
func (hc *hopConn) waitReady(ctx context.Context) error {
	select {
	case <-hc.ready:
		return hc.err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
