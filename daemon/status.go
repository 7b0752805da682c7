package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/internal/sshopt"
	"github.com/mitogen-go/mitogend/internal/version"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// statusDeadline bounds what a status waits for agents: one that has not answered by then is
// reported as not answering, so that a fleet with a few dead targets still gets its status at
// once (the calls run side by side, not one after another).
const statusDeadline = 2 * time.Second

// statusCallsAtOnce bounds the agent status calls in flight.
const statusCallsAtOnce = 128

// handleStatus is DaemonStatus: a summary and the connections a StatusRequest selects (every
// one without), or, when p is a ConnectRequest, the destination's connection alone (resolved as
// -O check resolves it, never dialled).
func (d *Daemon) handleStatus(ctx context.Context, _ router.ID, p []byte) ([]byte, error) {
	d.settleEarly(ctx)
	st := proto.Status{PID: os.Getpid(), Version: version.Version(), Socket: d.cfg.Socket,
		Uptime: time.Since(d.started).Round(time.Second).String()}
	var req struct {
		Host string `json:"host"` // a ConnectRequest's
		proto.StatusRequest
	}
	if len(p) > 0 {
		if err := json.Unmarshal(p, &req); err != nil {
			return nil, fmt.Errorf("daemon: bad status request: %w", err)
		}
	}
	if req.Host != "" {
		c, reply, err := d.liveConn(p)
		if err != nil {
			return nil, err
		}
		st.Destination = reply.Destination
		if c != nil {
			answers := d.askAgents(ctx, []*conn{c})
			st.Connections = []proto.Connection{d.connStatus(c, answers[0], d.askContexts(ctx, []*conn{c}))}
		}
		return json.Marshal(st)
	}
	conns := d.linkedConns()
	answers := d.askAgents(ctx, conns)
	kids := d.askContexts(ctx, conns)
	sum := d.summary(conns, answers, kids)
	st.Summary = &sum
	if req.Summary {
		return json.Marshal(st)
	}
	listedLinks := map[string]bool{}
	for i, c := range conns {
		cs := d.connStatus(c, answers[i], kids)
		if !selects(req.StatusRequest, c, cs) {
			continue
		}
		st.Connections = append(st.Connections, cs)
		listedLinks[c.link.Name()] = true
	}
	st.Summary.Listed = len(st.Connections)
	for _, ls := range d.r.Links() {
		if ls.Trusted || listedLinks[ls.Name] {
			st.Links = append(st.Links, proto.LinkStatus{Name: ls.Name, Trusted: ls.Trusted, Contexts: ls.Routes, BytesIn: ls.BytesIn, BytesOut: ls.BytesOut})
		}
	}
	proto.SortStatus(&st)
	return json.Marshal(st)
}

// agentSaid is what one connection's agent said about itself; ok is false when it did not
// answer by the deadline.
type agentSaid struct {
	info proto.AgentInfo
	ok   bool
}

// askAgents asks each connection's agent for its status (askIDs).
func (d *Daemon) askAgents(ctx context.Context, conns []*conn) []agentSaid {
	ids := make([]router.ID, len(conns))
	for i, c := range conns {
		ids[i] = c.id
	}
	return d.askIDs(ctx, ids)
}

// askContexts asks the agent of every context started through conns for its status.
func (d *Daemon) askContexts(ctx context.Context, conns []*conn) map[router.ID]agentSaid {
	d.mu.Lock()
	var ids []router.ID
	for _, c := range conns {
		for _, ch := range c.children {
			if ch.id != 0 {
				ids = append(ids, ch.id)
			}
		}
	}
	d.mu.Unlock()
	answers := d.askIDs(ctx, ids)
	out := make(map[router.ID]agentSaid, len(ids))
	for i, id := range ids {
		out[id] = answers[i]
	}
	return out
}

// askIDs asks each context's agent for its status, at most statusCallsAtOnce at a time, all
// within statusDeadline.
func (d *Daemon) askIDs(ctx context.Context, ids []router.ID) []agentSaid {
	ctx, cancel := context.WithTimeout(ctx, statusDeadline)
	defer cancel()
	out := make([]agentSaid, len(ids))
	sem := make(chan struct{}, statusCallsAtOnce)
	var wg sync.WaitGroup
	for i, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return out // the rest did not answer in time: they were not even asked
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			b, err := d.ep.Call(ctx, id, proto.AgentStatus, nil)
			if err == nil && json.Unmarshal(b, &out[i].info) == nil {
				out[i].ok = true
			}
		}()
	}
	wg.Wait()
	return out
}

// summary counts what the daemon holds; the answers are those of conns' agents.
func (d *Daemon) summary(conns []*conn, answers []agentSaid, kids map[router.ID]agentSaid) proto.StatusSummary {
	s := proto.StatusSummary{Connections: len(conns), Goroutines: runtime.NumGoroutine()}
	count := func(a agentSaid) {
		if a.ok {
			s.Streams += a.info.Streams
		} else {
			s.NoAnswer++
		}
	}
	for _, a := range answers {
		count(a)
	}
	for _, a := range kids {
		count(a)
	}
	s.Hops, _ = d.hops.count()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns.byKey {
		if !isClosed(c.ready) {
			s.Connecting++
		}
	}
	s.Contexts = len(d.contexts)
	s.Clients = d.clients
	return s
}

// selects reports whether the request lists cs: --busy keeps a connection whose agent, or the
// agent of a context behind it, serves streams or did not answer.
func selects(r proto.StatusRequest, c *conn, cs proto.Connection) bool {
	if r.Busy && !busy(cs) {
		return false
	}
	if r.Match == "" {
		return true
	}
	return sshopt.MatchPatternList(c.dest, r.Match, false) == 1 || sshopt.MatchPatternList(c.host, r.Match, false) == 1
}

func busy(cs proto.Connection) bool {
	if cs.NoAnswer || cs.Streams > 0 {
		return true
	}
	for _, k := range cs.Contexts {
		if k.NoAnswer || k.Streams > 0 {
			return true
		}
	}
	return false
}

// linkedConns are the connections that have a link to their agent (bootstrapped).
func (d *Daemon) linkedConns() []*conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	conns := make([]*conn, 0, len(d.conns.byKey))
	for _, c := range d.conns.byKey {
		if isClosed(c.ready) && c.link != nil { // link is set (under d.mu) before ready closes
			conns = append(conns, c)
		}
	}
	return conns
}

// connStatus is c's line of the status, with the stream counts its agent and those of the
// contexts behind it (kids) reported.
func (d *Daemon) connStatus(c *conn, a agentSaid, kids map[router.ID]agentSaid) proto.Connection {
	ls := c.link.Stats()
	pc := proto.Connection{Destination: c.dest, Context: c.id, Agent: c.info, Since: c.since.Format(time.RFC3339),
		BytesIn: ls.BytesIn, BytesOut: ls.BytesOut, Contexts: d.contextStatus(c), NoAnswer: !a.ok}
	for i := range pc.Contexts {
		k := &pc.Contexts[i]
		said := kids[k.Context]
		k.NoAnswer = !said.ok
		if said.ok {
			k.Streams, k.Agent.Streams = said.info.Streams, said.info.Streams
		}
	}
	if a.ok {
		pc.Agent.Streams = a.info.Streams
		pc.Streams = a.info.Streams
	}
	return pc
}

// earlySettle bounds how long status waits for agents still on their way behind a first call
// that did not wait for them (ConnectRequest.Early).
const earlySettle = 10 * time.Second

// settleEarly waits (bounded) for connections whose first call was answered before their agent
// was up, so that a status taken after a call shows what that call set up, as it did when every
// call waited for its agent.
func (d *Daemon) settleEarly(ctx context.Context) {
	d.mu.Lock()
	var waits []chan struct{}
	for _, c := range d.conns.byKey {
		if isClosed(c.dialed) && !isClosed(c.ready) {
			c.startAgent()
			waits = append(waits, c.ready)
		}
	}
	d.mu.Unlock()
	t := time.NewTimer(earlySettle)
	defer t.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}
