package daemon

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitogen-go/mitogend/internal/lanes"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Lanes: a bulk command on a far target runs in the agent with its stdin and stdout striped
// over several SSH channels (package internal/lanes), each a direct-streamlocal channel to the
// agent's socket. sshd grants a channel 2 MiB at a time, so that one channel, ssh's or ours,
// carries at most 2 MiB per round trip: 42 MB/s at 50 ms, whatever the link. On loopback and
// near targets the window never binds and the command keeps its own session channel
// (sessionexec.go), which spares it the agent's copy: on loopback, rsync of 512 MiB on four
// lanes took 1.69x a ControlMaster's time, against 0.93-1.00x on its session channel.
//
// Each connection keeps one set open and ready (lanePool), so that a command that takes it
// waits for no channel opens; the next set opens behind it. Before the first set, keepalives
// measure the round trip: below Config.LanesMinRTT the connection uses no lanes. A target
// whose sshd refuses the channels (AllowStreamLocalForwarding no, a restricted key) uses none
// either.

// DefaultLanes and DefaultLanesMinRTT are mitogend serve's: four channels carry 8 MiB per round
// trip, more than TCP's default 4 MiB send buffer lets out; at 4 ms, one channel's window is
// 520 MB/s, about what one SSH connection encrypts on one core.
const (
	DefaultLanes       = 4
	DefaultLanesMinRTT = 4 * time.Millisecond
)

// lanePool is one connection's ready set.
type lanePool struct {
	mu      sync.Mutex // protects the fields below
	ready   []net.Conn // a set the agent acknowledged, or nil
	set     lanes.SetID
	filling chan struct{} // closed when the set being opened is ready or failed; nil when none is
	off     bool          // no lanes on this connection
	path    string        // the agent's lane socket, once asked
}

// laneWait bounds how long a bulk command waits for a set being opened on a target the probes
// found far (the agent's socket is known: p.path), a few round trips, against a transfer that
// would crawl on one channel's window. Nothing waits while the probes run (up to 4 s): the
// target may be near.
const laneWait = 2 * time.Second

// bulkCommand says whether command only moves bytes, for as long as the caller has them: rsync's
// server, as every rsync started with -e names it. Other commands keep their session channel,
// which sshd sets up as ssh's (its ~/.ssh/rc, its environment).
func bulkCommand(command string) bool {
	prog, rest, _ := strings.Cut(strings.TrimLeft(command, " "), " ")
	flag, _, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
	return path.Base(prog) == "rsync" && flag == "--server"
}

// lanesFor takes the ready set of req's connection for a bulk command, and starts the next.
func (d *Daemon) lanesFor(req proto.FDExecRequest) (*conn, []net.Conn, lanes.SetID) {
	if d.cfg.Lanes < 2 || !req.Stdin || !req.Stdout || !plainCommand(req.Exec) || !bulkCommand(req.Exec.Command) {
		return nil, nil, lanes.SetID{}
	}
	c := d.directConn(req.Context)
	if c == nil {
		return nil, nil, lanes.SetID{}
	}
	p := &c.lanes
	p.mu.Lock()
	if wait := p.filling; p.ready == nil && wait != nil && p.path != "" {
		p.mu.Unlock()
		t := time.NewTimer(laneWait)
		select {
		case <-wait:
		case <-t.C:
		}
		t.Stop()
		p.mu.Lock()
	}
	set, id := p.ready, p.set
	p.ready = nil
	p.mu.Unlock()
	go d.fillLanes(c)
	if set == nil {
		return nil, nil, lanes.SetID{}
	}
	if endedWhileIdle(set) {
		// Its end is on its way to endedIdle, which will find the set gone: close it here.
		closeConns(set)
		d.logf("daemon: %s: lanes: a ready set ended while it waited", c.dest)
		return nil, nil, lanes.SetID{}
	}
	return c, set, id
}

// fillLanes opens c's next set, unless one is ready, opening, or lanes are off. A set that
// fails to open turns lanes off for the connection's life: a target that refused one channel
// or answered wrongly once would most likely do it again, and each try costs round trips.
func (d *Daemon) fillLanes(c *conn) {
	p := &c.lanes
	p.mu.Lock()
	if p.ready != nil || p.filling != nil || p.off || d.cfg.Lanes < 2 {
		p.mu.Unlock()
		return
	}
	done := make(chan struct{})
	p.filling = done
	first := p.path == ""
	p.mu.Unlock()
	defer close(done) // after p.filling is cleared and p.ready set, below
	// Each set's opening checks the round trip again, with one probe after the first set's
	// several: a near target taken for a far one while the machine was busy gives its lanes
	// up at its next bulk command.
	probes := rttProbes
	if !first {
		probes = 1
	}
	if d.cfg.LanesMinRTT > 0 {
		rtt, err := roundTrip(c, probes, d.cfg.LanesMinRTT)
		if err == nil && rtt < d.cfg.LanesMinRTT {
			err = fmt.Errorf("daemon: lanes: round trip %v, below %v", rtt.Round(time.Microsecond), d.cfg.LanesMinRTT)
		}
		if err != nil {
			p.mu.Lock()
			p.filling, p.off = nil, true
			p.mu.Unlock()
			d.logf("daemon: %s: no lanes: %v", c.dest, err)
			return
		}
	}
	set, id, err := d.openLanes(c, first)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.filling = nil
	if err != nil {
		p.off = true
		d.logf("daemon: %s: no lanes: %v", c.dest, err)
		return
	}
	d.logf("daemon: %s: %d lanes ready", c.dest, len(set))
	p.ready, p.set = watchIdle(set, func() { d.endedIdle(c, id) }), id
}

// endedIdle drops c's ready set id, one of whose lanes ended (or spoke) while it waited: sshd
// closes channels idle for its ChannelTimeout, and an agent that goes closes them all. A
// command that took such a set would fail on it; without one it keeps its session channel.
// The next set opens when the next bulk command comes, as after any take, not now: a set
// opened at once would end again every ChannelTimeout, for as long as the connection lasts.
func (d *Daemon) endedIdle(c *conn, id lanes.SetID) {
	p := &c.lanes
	p.mu.Lock()
	set := p.ready
	if set == nil || p.set != id {
		p.mu.Unlock()
		return // taken: what the read got is the command's
	}
	p.ready = nil
	p.mu.Unlock()
	closeConns(set)
	// A connection that ends closes its channels before it says it has ended: a set that
	// ended with it is not worth a line.
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-c.client.Done():
	case <-t.C:
		d.logf("daemon: %s: lanes: a ready set ended while it waited", c.dest)
	}
}

// idleLane is a lane of a ready set with one read pending from the moment the set is ready: an
// agent sends nothing on a set before a command claims it, so that read ends only when the
// lane does, or with the first byte of the command's output, which Read then hands on.
type idleLane struct {
	net.Conn
	first  chan lanePeek // the pending read's result, sent once
	peeked bool          // first was received (only the lane's one reader touches it)
}

type lanePeek struct {
	b   byte
	err error
}

// watchIdle wraps each lane of set in an idleLane; ended runs when any lane's pending read
// returns, whatever became of the set since.
func watchIdle(set []net.Conn, ended func()) []net.Conn {
	out := make([]net.Conn, len(set))
	for i, lc := range set {
		l := &idleLane{Conn: lc, first: make(chan lanePeek, 1)}
		out[i] = l
		go func() {
			var b [1]byte
			n, err := lc.Read(b[:])
			switch {
			case n == 1:
				err = nil // the next read says it again
			case err == nil:
				err = io.ErrNoProgress
			}
			l.first <- lanePeek{b[0], err}
			ended()
		}()
	}
	return out
}

// endedWhileIdle says whether a pending read of set's lanes has returned: nothing may come on
// a set before its command, so such a set is of no use.
func endedWhileIdle(set []net.Conn) bool {
	for _, lc := range set {
		if l, ok := lc.(*idleLane); ok && len(l.first) > 0 {
			return true
		}
	}
	return false
}

func (l *idleLane) Read(p []byte) (int, error) {
	if l.peeked || len(p) == 0 {
		return l.Conn.Read(p)
	}
	l.peeked = true
	r := <-l.first
	if r.err != nil {
		return 0, r.err
	}
	p[0] = r.b
	return 1, nil
}

// rttProbes keepalives, rttSpacing apart, measure a connection's round trip before its first
// set: the quickest counts, and one quicker than the bound ends the measure. A probe answered
// late by a busy machine must not make a near target look far: when 100 targets on loopback
// connected at once, three probes back to back, right after each agent came up, took 83 of
// them for far. Spread over 4 s, the probes outlast such a storm of bootstraps.
const (
	rttProbes  = 8
	rttSpacing = 500 * time.Millisecond
)

// rttTimeout bounds one probe: a target that does not answer a keepalive gets no lanes (its
// keepalives will soon say more).
const rttTimeout = 10 * time.Second

// roundTrip measures c's round trip with up to probes keepalives, which sshd answers at once,
// until one takes less than near.
func roundTrip(c *conn, probes int, near time.Duration) (time.Duration, error) {
	best := time.Duration(-1)
	for i := range probes {
		if i > 0 {
			select {
			case <-time.After(rttSpacing):
			case <-c.client.Done():
				return 0, errors.New("daemon: lanes: the connection ended")
			}
		}
		start := time.Now()
		answered := make(chan error, 1)
		go func() {
			_, _, err := c.client.Client.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()
		t := time.NewTimer(rttTimeout)
		select {
		case err := <-answered:
			t.Stop()
			if err != nil {
				return 0, fmt.Errorf("daemon: lanes: keepalive: %w", err)
			}
		case <-t.C:
			return 0, fmt.Errorf("daemon: lanes: no answer to a keepalive in %v", rttTimeout)
		}
		if took := time.Since(start); best < 0 || took < best {
			best = took
		}
		if best < near {
			break
		}
	}
	return best, nil
}

// laneOpenTimeout bounds the opens of one set.
const laneOpenTimeout = 30 * time.Second

// openLanes asks the agent for its socket (first) and opens a set to it, all lanes at once.
func (d *Daemon) openLanes(c *conn, first bool) ([]net.Conn, lanes.SetID, error) {
	ctx, cancel := context.WithTimeout(context.Background(), laneOpenTimeout)
	defer cancel()
	if first {
		b, err := d.ep.Call(ctx, c.id, proto.AgentLanes, nil)
		var reply proto.LanesReply
		if err == nil {
			err = json.Unmarshal(b, &reply)
		}
		if err == nil && reply.Path == "" {
			err = errors.New("no socket in the answer")
		}
		if err != nil {
			return nil, lanes.SetID{}, fmt.Errorf("daemon: lanes: the agent's socket: %w", err)
		}
		c.lanes.mu.Lock()
		c.lanes.path = reply.Path
		c.lanes.mu.Unlock()
	}
	c.lanes.mu.Lock()
	sock := c.lanes.path
	c.lanes.mu.Unlock()
	id := lanes.NewSetID()
	n := d.cfg.Lanes
	set := make([]net.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc, err := c.client.Client.DialContext(ctx, "unix", sock)
			if err == nil {
				_, err = lc.Write(lanes.Hello{Set: id, Index: i, Count: n}.Marshal())
			}
			set[i], errs[i] = lc, err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeConns(set)
		return nil, id, fmt.Errorf("daemon: lanes: %w", err)
	}
	if err := awaitAck(ctx, set[0]); err != nil {
		closeConns(set)
		return nil, id, err
	}
	return set, id, nil
}

// awaitAck reads the agent's acknowledgement of a complete set from its lane 0 (a channel has
// no read deadline: the wait ends with ctx by closing the lane).
func awaitAck(ctx context.Context, lane0 net.Conn) error {
	got := make(chan error, 1)
	go func() {
		var b [1]byte
		_, err := io.ReadFull(lane0, b[:])
		if err == nil && b[0] != lanes.Ack {
			err = fmt.Errorf("0x%02x for an ack", b[0])
		}
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			return fmt.Errorf("daemon: lanes: ack: %w", err)
		}
		return nil
	case <-ctx.Done():
		lane0.Close()
		return fmt.Errorf("daemon: lanes: ack: %w", context.Cause(ctx))
	}
}

func closeConns(cs []net.Conn) {
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
}

// runOnLanes runs a bulk command in c's agent, its stdin and stdout on set.
func (d *Daemon) runOnLanes(ctx context.Context, c *conn, set []net.Conn, id lanes.SetID, req proto.FDExecRequest, st *tunnel.Stream, eio execIO) exitRequest {
	defer closeConns(set)
	d.logf("daemon: %s: a bulk command on %d lanes", c.dest, len(set))
	exec := req.Exec
	exec.Env = d.acceptedEnvOf(c, exec.Env)
	exec.Lanes = &proto.Lanes{Set: hex.EncodeToString(id[:]), Count: len(set)}
	as, err := d.openExec(ctx, req.Context, exec)
	if err != nil {
		return exitRequest{}
	}
	defer as.Close()
	go relaySignals(st, func(name string, p []byte) { as.SendRequest(name, p) }, func() { as.Close(); closeConns(set) })
	rs, ws := make([]io.Reader, len(set)), make([]io.Writer, len(set))
	for i, lc := range set {
		rs[i], ws[i] = lc, lc
	}
	// stdin: until the caller's EOF, then the end chunk. A read that fails (the caller's
	// stdin closed by eio.closer once the call is over) sends no end: the agent's stdin is
	// cut, and the command, if it still runs, has been told of it by its exit anyway.
	go func() {
		// A lane that fails here is left to the stdout side: the agent closes its lanes once
		// the command is over, which fails these writes too, while the end of stdout may
		// still be on its way.
		w := lanes.NewWriter(ws)
		if _, err := copyBuffered(w, eio.stdin); err == nil {
			w.End()
		}
	}()
	out := lanes.NewReader(rs)
	watched := &stallWatch{r: out}
	var wg sync.WaitGroup
	var outErr, errErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		if _, outErr = copyBuffered(eio.stdout, watched); outErr != nil {
			closeConns(set) // the agent, blocked on a lane, then ends its copy and the command
		}
	}()
	go func() { defer wg.Done(); _, errErr = copyBuffered(eio.stderr, as.Stderr()) }()
	exit := exitOf(as)
	drained := make(chan struct{})
	if exit.name == "" {
		closeConns(set) // the agent went: its lanes may never end
	} else {
		// The agent ends stdout and closes its lanes before it sends the exit: what is still to
		// come is in flight. A read that waits laneDrainIdle for it waits on an agent that broke
		// the protocol, and would hang its call.
		go cutWhenStalled(watched, laneDrainIdle, drained, func() {
			d.logf("daemon: %s: lanes: no output for %v after the exit", c.dest, laneDrainIdle)
			closeConns(set)
		})
	}
	wg.Wait()
	close(drained)
	if exit.name == "" {
		return orLost(exit, outErr, errErr)
	}
	if err := out.Err(); err != nil {
		// The command's output was cut short: its status must not say it all arrived.
		d.logf("daemon: %s: %v", c.dest, err)
		fmt.Fprintf(eio.stderr, "mitogend: the command's output was cut short: %v\n", err)
		return statusRequest(255)
	}
	return exit
}

// laneDrainIdle bounds a wait for a lane's data after the command's exit: by then the agent has
// sent it all, so a read waits only on the link, and on a link stalled this long the
// connection's keepalives will soon have ended everything anyway.
const laneDrainIdle = 10 * time.Second

// stallWatch is a reader that knows since when its current read has waited: the time a
// reader spends writing what it read elsewhere (to a caller who reads slowly) is not a stall.
type stallWatch struct {
	r     io.Reader
	since atomic.Int64 // UnixNano when the read waiting now began; 0 when none waits
}

func (s *stallWatch) Read(p []byte) (int, error) {
	s.since.Store(time.Now().UnixNano())
	n, err := s.r.Read(p)
	s.since.Store(0)
	return n, err
}

// stalled says whether a read has waited idle or longer, counting from after at the earliest.
func (s *stallWatch) stalled(idle time.Duration, after time.Time) bool {
	t := s.since.Load()
	if t == 0 {
		return false
	}
	from := time.Unix(0, t)
	if from.Before(after) {
		from = after
	}
	return time.Since(from) >= idle
}

// cutWhenStalled calls cut once s has had a read waiting for idle since cutWhenStalled began,
// checking a few times per idle until done is closed.
func cutWhenStalled(s *stallWatch, idle time.Duration, done <-chan struct{}, cut func()) {
	start := time.Now()
	t := time.NewTicker(idle / 4)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if s.stalled(idle, start) {
				cut()
				return
			}
		}
	}
}
