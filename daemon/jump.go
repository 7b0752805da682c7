package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/sshdial"
)

// chainDial is one caller's dial of a chain: its request (whose agent, keys and host-key policy
// apply at every hop it opens or checks) and where what ssh would print while connecting goes.
type chainDial struct {
	chain   targetChain
	req     proto.ConnectRequest
	early   *earlyOutput
	timeout time.Duration // each connect's own deadline, from when it has its slot (dialDeadline)

	mu      sync.Mutex
	proxies []*proxyConn // the ProxyCommands this dial started

	slot   *slot              // the destination's connect slot, held until finish
	cancel context.CancelFunc // ends the destination's deadline
}

// finish gives back the destination's slot and ends its deadline, once its bootstrap is done.
func (cd *chainDial) finish() {
	cd.slot.release()
	if cd.cancel != nil {
		cd.cancel()
	}
}

func (cd *chainDial) warnf(format string, args ...any) { cd.early.warnf(format, args...) }

// dialChain dials the chain's destination as ssh would: through each hop in turn, every SSH
// connection carried by a direct-tcpip channel of the one before, the first over TCP or a
// ProxyCommand's pipes. Hop connections are shared (see hopConn): one already open is ridden,
// after its host key has been checked under this caller's policy. Host keys and authentication
// are checked at every hop, and keys stay here: a jump host carries only ciphertext. The
// destination's hop is released when its connection ends.
//
// ctx bounds the waits (for hops, for connect slots); the connect to the destination gets its
// slot and its deadline last, once every hop is up, and the returned context carries that
// deadline for what follows (the bootstrap) until cd.finish.
func (d *Daemon) dialChain(ctx context.Context, cd *chainDial, lost func(string)) (*sshdial.Client, []*hopConn, context.Context, error) {
	chain := cd.chain
	dial := d.firstDial(cd, chain.dest)
	var last *hopConn
	var hops []*hopConn
	if n := len(chain.hops); n > 0 {
		var found []bool
		var err error
		if last, found, err = d.acquireHop(ctx, cd, n-1); err != nil {
			return nil, nil, nil, behindFailed(err)
		}
		hops = last.path(n)
		for i, open := range found {
			if !open {
				continue // this dial opened it and checked it then
			}
			if _, err := sshdial.VerifyHostKey(d.dialConfig(chain.hops[i], cd.req, cd.warnf), hops[i].client.HostKey); err != nil {
				d.hops.release(last)
				return nil, nil, nil, behindFailed(err)
			}
		}
		dial = channelDial(last, chain.dest.addr)
	}
	dctx, err := cd.takeSlot(ctx, d.slots)
	if err != nil {
		if last != nil {
			d.hops.release(last)
		}
		return nil, nil, nil, err
	}
	cfg := d.dialConfig(chain.dest, cd.req, cd.warnf)
	cfg.Lost, cfg.DialContext, cfg.Prompt = lost, dial, cd.slot.duringPrompts(cfg.Prompt)
	client, err := sshdial.Dial(dctx, cfg)
	if err != nil {
		if last != nil {
			d.hops.release(last)
		}
		return nil, nil, nil, cd.failed(err)
	}
	if last != nil {
		client.AfterClose(func() { d.hops.release(last) })
	}
	return client, hops, dctx, nil
}

// takeSlot waits for the destination's connect slot and starts its deadline.
func (cd *chainDial) takeSlot(ctx context.Context, slots *dialSlots) (context.Context, error) {
	s, err := slots.take(ctx)
	if err != nil {
		return nil, fmt.Errorf("daemon: waiting to connect: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, cd.timeout)
	cd.slot, cd.cancel = s, cancel
	return dctx, nil
}

// acquireHop takes a reference on the connection to hop i of the chain: the open one, else one
// this call opens (the hops before it first). found says which of hops 0..i this call found
// already open: those were accepted under another caller's check, which this caller's must
// repeat.
func (d *Daemon) acquireHop(ctx context.Context, cd *chainDial, i int) (hc *hopConn, found []bool, err error) {
	hc, fresh := d.hops.get(cd.chain.prefixKey(i+1, cd.req.AuthSock), cd.chain.hops[i])
	if fresh {
		found = d.openHop(ctx, cd, i, hc)
	}
	if err := hc.waitReady(ctx); err != nil {
		d.hops.release(hc)
		return nil, nil, err
	}
	if !fresh {
		found = make([]bool, i+1)
		for j := range found {
			found[j] = true
		}
	}
	return hc, found, nil
}

// openHop dials hop i into hc (whose parent, the hop before, it acquires first) and closes
// hc.ready. The connection gives its parent back when its transport ends.
func (d *Daemon) openHop(ctx context.Context, cd *chainDial, i int, hc *hopConn) (found []bool) {
	defer close(hc.ready)
	h := cd.chain.hops[i]
	dial := d.firstDial(cd, h)
	var parent *hopConn
	if i > 0 {
		var err error
		if parent, found, err = d.acquireHop(ctx, cd, i-1); err != nil {
			d.hopFailed(hc, behindFailed(err))
			return nil
		}
		dial = channelDial(parent, h.addr)
	}
	hc.via = parent
	s, err := d.slots.take(ctx)
	if err != nil {
		if parent != nil {
			d.hops.release(parent)
		}
		d.hopFailed(hc, fmt.Errorf("daemon: waiting to connect: %w", err))
		return nil
	}
	defer s.release()
	dctx, cancel := context.WithTimeout(ctx, dialDeadline(h.target.ConnectTimeout, cd.req.Prompt))
	defer cancel()
	cfg := d.dialConfig(h, cd.req, cd.warnf)
	cfg.DialContext, cfg.Prompt = dial, s.duringPrompts(cfg.Prompt)
	cfg.Lost = func(msg string) {
		d.logf("daemon: hop %s: %s", hc.name, msg)
		hc.lost.Store(&msg)
	}
	client, err := sshdial.Dial(dctx, cfg)
	if err != nil {
		if parent != nil {
			d.hops.release(parent)
		}
		d.hopFailed(hc, cd.failed(err))
		return nil
	}
	hc.client = client
	d.logf("daemon: hop %s up", hc.name)
	client.AfterClose(func() {
		close(hc.done)
		d.hops.forget(hc)
		d.logf("daemon: hop %s closed", hc.name)
		if parent != nil {
			d.hops.release(parent)
		}
	})
	return append(found, false)
}

func (d *Daemon) hopFailed(hc *hopConn, err error) {
	hc.err = err
	d.hops.forget(hc)
	d.logf("daemon: hop %s: %v", hc.name, err)
}

// path is the hop connections from the chain's first to hc, n of them, following the parents
// each rides. A hop's parent is the connection its channel was opened on.
func (hc *hopConn) path(n int) []*hopConn {
	out := make([]*hopConn, n)
	out[n-1] = hc
	for i := n - 2; i >= 0; i-- {
		out[i] = out[i+1].via
	}
	return out
}

// firstDial is how the first connection of the chain, h, is reached: TCP (nil), or the
// chain's ProxyCommand.
func (d *Daemon) firstDial(cd *chainDial, h hop) func(context.Context, string, string) (net.Conn, error) {
	if cd.chain.proxy == "" {
		return nil
	}
	return func(context.Context, string, string) (net.Conn, error) {
		p, err := d.startProxy(cd.chain.proxy, destination(h.target), cd)
		if err != nil {
			return nil, err
		}
		cd.mu.Lock()
		cd.proxies = append(cd.proxies, p)
		cd.mu.Unlock()
		return p, nil
	}
}

// failed is err once the ProxyCommands this dial started have said what they had to say: a
// command that ends before the banner has usually printed why, and ssh shows that first.
func (cd *chainDial) failed(err error) error {
	cd.mu.Lock()
	proxies := cd.proxies
	cd.mu.Unlock()
	for _, p := range proxies {
		p.waitStderr()
	}
	return err
}

// channelDial opens the channel to addr on hc's connection, as the ssh -W that ssh -J runs
// would, and names the transport as ssh names a ProxyCommand's.
func channelDial(hc *hopConn, addr string) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, err := hc.client.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, stdioFailed(err)
		}
		return viaJump{c}, nil
	}
}

// viaJump is a channel carrying an SSH connection. ssh reaches a jump host's far side through
// the pipes of the ssh it runs, so its messages name the peer UNKNOWN port 65535.
type viaJump struct{ net.Conn }

func (viaJump) RemoteAddr() net.Addr { return unknownAddr{} }

// kexClosed is what ssh prints when its ProxyCommand (here: the ssh of the hop in front) ends
// before the banner exchange.
var kexClosed = []string{"kex_exchange_identification: Connection closed by remote host", "Connection closed by UNKNOWN port 65535"}

// stdioFailed words a refused channel as ssh -J shows it: the jump host's ssh says why its
// stdio forward failed, then the ssh riding it finds its ProxyCommand gone.
func stdioFailed(err error) error {
	lines := append([]string{"channel 0: open failed: " + openFailure(err), "stdio forwarding failed"}, kexClosed...)
	return &sshdial.Error{Message: strings.Join(lines, "\n"), Lines: lines, Err: errors.Join(sshdial.ErrConnect, err)}
}

// behindFailed is the failure of a connection whose ProxyCommand (a hop in front, or a process)
// ended before the banner: what the hop's ssh printed (err, nil for nothing), then ssh's own.
func behindFailed(err error) error {
	var lines []string
	if err != nil {
		lines = logMessages(err)
	}
	lines = append(lines, kexClosed...)
	return &sshdial.Error{Message: strings.Join(lines, "\n"), Lines: lines, Err: errors.Join(sshdial.ErrProtocol, err)}
}

// earlyOutput collects what ssh would have printed while a connection was being made, for the
// caller that made it: warnings (one log message each, also logged) and a ProxyCommand's stderr
// (as it is; logged by lines where it is read). After take, only the log gets more.
type earlyOutput struct {
	logf func(string, ...any)

	mu       sync.Mutex
	taken    bool
	warnings []string
	errBytes []byte
}

// maxEarlyStderr bounds the ProxyCommand output kept for the caller; the log has all of it.
const maxEarlyStderr = 64 << 10

func (e *earlyOutput) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	e.logf("%s", msg)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.taken {
		e.warnings = append(e.warnings, msg)
	}
}

func (e *earlyOutput) stderr(b []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.taken {
		e.errBytes = append(e.errBytes, b[:min(len(b), maxEarlyStderr-len(e.errBytes))]...)
	}
}

func (e *earlyOutput) take() (warnings []string, stderr []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.taken = true
	return e.warnings, e.errBytes
}
