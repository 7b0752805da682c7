package router

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mitogen-go/mitogend/internal/ratelog"
)

// Unreachable, as the source of a Disconnect delivered locally, means the parent link is gone:
// every context not behind one of this router's own links is out of reach.
const Unreachable ID = 0xffffffff

// ErrNoRoute is returned by Send when no link leads to the destination.
var ErrNoRoute = errors.New("router: no route to context")

// Logf is a printf-style logger. Libraries in this project never write to stderr themselves.
type Logf func(format string, args ...any)

// Handler receives the frames addressed to this context. HandleMessage is called from link
// reader goroutines, concurrently, and must not block: a slow handler stalls a whole link.
type Handler interface {
	HandleMessage(m *Message)
}

// Default queue bounds (Config.MaxQueue, Config.MaxQueueTotal). Endpoints' windows bound what
// honest peers make a link queue: 8 MiB per stream in each direction. The per-link bound leaves
// room for sixteen streams at full window on one slow link; the total keeps a fleet of links
// that each stay under their own bound from taking the machine.
const (
	DefaultMaxQueue      = 128 << 20
	DefaultMaxQueueTotal = 512 << 20
)

// Config configures a Router.
type Config struct {
	ID         ID      // this context's id
	Handler    Handler // local delivery; required
	MaxPayload int     // largest accepted frame payload; default DefaultMaxPayload
	// MaxQueue bounds the memory (FrameCost) of the frames queued on one link, unless the link's
	// own LinkConfig.MaxQueue says otherwise; a link that exceeds it is torn down. Default
	// DefaultMaxQueue.
	MaxQueue int
	// MaxQueueTotal bounds the frames queued on all links together; past it the link with the
	// most queued is torn down. Default DefaultMaxQueueTotal.
	MaxQueueTotal int
	Logf          Logf // may be nil
	// OnLinkDown, if set, is called once per link after its routes are gone.
	OnLinkDown func(l *Link, lost []ID, err error)
}

// Router forwards frames between links and to the local Handler.
// All methods are safe for concurrent use.
//
// Goroutines: each link has a reader while it is up and a writer while it has frames queued
// (Link.drain); both are counted in wg, so Close can wait for them. The Handler and OnLinkDown
// run on them (OnLinkDown also on whoever takes a link down) and must not call Close.
//
// Lock order: Router.mu, then Link.mu; neither is held while calling the Handler, OnLinkDown or
// a link's ReadWriteCloser. Endpoints above take their own locks only after the router's are
// released (a frame to this context is handled on the sending goroutine).
type Router struct {
	cfg     Config
	queued  atomic.Int64     // FrameCost of the frames queued on every link
	dropLog *ratelog.Limiter // frames dropped or refused: a flood must not flood the log
	wg      sync.WaitGroup   // the links' readers and writers

	mu     sync.Mutex // protects closed, routes, links, parent, crossed and their indexes (index.go); taken before any Link.mu
	closed bool       // Close was called: links added from now on start down
	routes map[ID]route
	links  map[*Link]struct{}
	parent *Link
	// crossed holds, for a context, the links (other than its own and the parent) that frames
	// from or to it were forwarded on: where its Disconnect goes, besides the parent link.
	crossed map[ID]map[*Link]struct{}
}

// route is how a context is reached: through link, behind context via, its parent in the tree
// as far as this router knows (this router's own id for the peer of one of its links).
type route struct {
	link *Link
	via  ID
}

// New returns a Router with no links.
func New(cfg Config) *Router {
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.MaxQueueTotal <= 0 {
		cfg.MaxQueueTotal = DefaultMaxQueueTotal
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Router{cfg: cfg, routes: map[ID]route{}, links: map[*Link]struct{}{}, crossed: map[ID]map[*Link]struct{}{},
		dropLog: ratelog.New(20, time.Second)}
}

// ID is this context's id.
func (r *Router) ID() ID { return r.cfg.ID }

// MaxPayload is the largest frame payload this router accepts.
func (r *Router) MaxPayload() int { return r.cfg.MaxPayload }

// AddLink attaches a neighbour reached over rwc and starts its reader (a writer runs whenever
// there is something to send).
// The link's peer, lc.Peer, becomes reachable through it.
func (r *Router) AddLink(rwc io.ReadWriteCloser, lc LinkConfig) *Link {
	return r.AddLinkThen(rwc, lc, nil)
}

// AddLinkThen is AddLink with before called on the new link before it is routed or its reader
// starts, so that the caller's record of the link (a daemon's connection) exists before any
// frame goes through it, arrives from it, or it can go down. before must not block.
func (r *Router) AddLinkThen(rwc io.ReadWriteCloser, lc LinkConfig, before func(*Link)) *Link {
	if lc.MaxQueue <= 0 {
		lc.MaxQueue = r.cfg.MaxQueue
	}
	l := &Link{r: r, cfg: lc, rwc: rwc, done: make(chan struct{}),
		routed: map[ID]struct{}{}, crossed: map[ID]struct{}{}}
	if before != nil {
		before(l)
	}
	r.mu.Lock()
	if r.closed {
		// Never routed, so nothing can queue on it (and start a writer Close would not wait for).
		r.mu.Unlock()
		l.once.Do(func() {
			l.err = ErrLinkClosed
			rwc.Close()
			close(l.done)
		})
		return l
	}
	r.links[l] = struct{}{}
	if lc.Parent {
		r.parent = l
	}
	r.setRouteLocked(lc.Peer, route{link: l, via: r.cfg.ID})
	r.wg.Add(1) // under mu: Close's Wait cannot have begun
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		l.readLoop()
	}()
	return l
}

// AddRoute makes id reachable behind context via, its parent in the tree (sudo on a target, a
// host behind a bastion): frames for id take the link that leads to via. via must be routed
// here or lie beyond the parent link.
func (r *Router) AddRoute(id, via ID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lookupLocked(via)
	if l == nil {
		return fmt.Errorf("%w %d", ErrNoRoute, via)
	}
	r.setRouteLocked(id, route{link: l, via: via})
	return nil
}

// OnPath reports whether src may answer for dst with a Dead notice: src is dst itself, this
// context, or a context this router knows to lie between here and dst. Endpoints accept a Dead
// for a call or stream only from such a context, so a target cannot fail another target's
// traffic by naming its handles.
func (r *Router) OnPath(src, dst ID) bool {
	if src == dst || src == r.cfg.ID {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for range len(r.routes) + 1 { // a tree has no cycles; the bound only guards a corrupt table
		rt, ok := r.routes[dst]
		switch {
		case !ok: // beyond the parent link: its peer is on every such path
			return r.parent != nil && src == r.parent.cfg.Peer
		case rt.via == r.cfg.ID: // a neighbour: nothing lies between
			return false
		case rt.via == src:
			return true
		}
		dst = rt.via
	}
	return false
}

// Trusted reports whether id is this context or lives behind a trusted link.
func (r *Router) Trusted(id ID) bool {
	if id == r.cfg.ID {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lookupLocked(id)
	return l != nil && l.cfg.Trusted
}

// Reachable reports whether a frame for id has somewhere to go: this context, a context behind
// a link, or anything while a parent link is up.
func (r *Router) Reachable(id ID) bool {
	if id == r.cfg.ID {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookupLocked(id) != nil
}

// Send routes a frame that originates in this context. It never blocks.
func (r *Router) Send(m *Message) error {
	if m.Dst == r.cfg.ID {
		r.cfg.Handler.HandleMessage(m)
		return nil
	}
	if len(m.Payload) > r.cfg.MaxPayload {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(m.Payload))
	}
	r.mu.Lock()
	l := r.lookupLocked(m.Dst)
	r.mu.Unlock()
	if l == nil {
		return fmt.Errorf("%w %d", ErrNoRoute, m.Dst)
	}
	return l.enqueue(m, nil)
}

func (r *Router) lookupLocked(id ID) *Link {
	if rt, ok := r.routes[id]; ok {
		return rt.link
	}
	return r.parent
}

// behindLocked reports whether the route table places id behind link l.
func (r *Router) behindLocked(id ID, l *Link) bool {
	rt, ok := r.routes[id]
	return ok && rt.link == l
}

// fromLink routes a frame read from link from, enforcing the trust rules.
func (r *Router) fromLink(m *Message, from *Link) {
	switch m.Kind {
	case KindHello:
		from.fail(fmt.Errorf("router: link %s: unexpected hello", from.cfg.Name))
		return
	case KindDisconnect:
		r.disconnectFrom(m, from)
		return
	}
	r.mu.Lock()
	if !from.cfg.Parent && !r.behindLocked(m.Src, from) {
		r.mu.Unlock()
		r.dropLog.Logf(r.cfg.Logf, "router: link %s: dropping frame from context %d, which is not behind it (%v)", from.cfg.Name, m.Src, m)
		return
	}
	local := m.Dst == r.cfg.ID
	var to *Link
	if !local {
		to = r.lookupLocked(m.Dst)
	}
	forward := !local && to != nil && to != from && (from.cfg.Trusted || to.cfg.Trusted)
	if forward {
		r.crossLocked(m.Src, to)
		r.crossLocked(m.Dst, from)
	}
	r.mu.Unlock()
	switch {
	case local:
		r.cfg.Handler.HandleMessage(m)
	case to == nil:
		r.bounce(m, "no route to context")
	case to == from:
		r.bounce(m, "route loops back")
	case !forward:
		r.dropLog.Logf(r.cfg.Logf, "router: refused frame from context %d to context %d: targets may not reach other targets", m.Src, m.Dst)
		r.bounce(m, "permission denied")
	default:
		// A target that sends a client more than it reads is the one at fault: honest targets
		// keep within the client's windows. It loses its link; the client keeps its own.
		var blame *Link
		if !from.cfg.Trusted && to.cfg.Trusted {
			blame = from
		}
		if err := to.enqueue(m, blame); err != nil {
			r.bounce(m, err.Error())
		}
	}
}

// bounce answers an undeliverable frame with Dead, to the sender's reply-to handle.
func (r *Router) bounce(m *Message, why string) {
	if m.Kind == KindDead {
		return // never answer a notice with a notice
	}
	dead := &Message{
		Header:  Header{Kind: KindDead, Dst: m.Src, Src: r.cfg.ID, Handle: m.ReplyTo},
		Payload: []byte(fmt.Sprintf("router: context %d: %s", m.Dst, why)),
	}
	if err := r.Send(dead); err != nil {
		r.dropLog.Logf(r.cfg.Logf, "router: dropping dead notice for %v: %v", m, err)
	}
}

// disconnectFrom handles a Disconnect notice: context m.Src is gone. Only the link the context
// lived behind (or the parent) may say so; the notice floods on to every other neighbour.
func (r *Router) disconnectFrom(m *Message, from *Link) {
	r.mu.Lock()
	behind := r.behindLocked(m.Src, from)
	if !from.cfg.Parent && !behind {
		r.mu.Unlock()
		r.dropLog.Logf(r.cfg.Logf, "router: link %s: ignoring disconnect of context %d, which is not behind it", from.cfg.Name, m.Src)
		return
	}
	if behind {
		r.deleteRouteLocked(m.Src)
	}
	r.mu.Unlock()
	r.flood([]ID{m.Src}, from, m.Payload)
}

// flood tells the neighbours that need to know, and the local handler, that ids are gone, and
// why (reason may be empty): the parent link and the links each one's frames crossed
// (noticeLinksLocked), never except, the link the news came from. A neighbour no frame of the
// context ever reached holds nothing that waits on it: telling every link would make each
// client's exit cost a frame to every target of a fleet.
func (r *Router) flood(ids []ID, except *Link, reason []byte) {
	for _, id := range ids {
		r.mu.Lock()
		links := r.noticeLinksLocked(id, except)
		r.mu.Unlock()
		for _, l := range links {
			l.enqueue(&Message{Header: Header{Kind: KindDisconnect, Src: id}, Payload: reason}, nil) // a dead link is no loss
		}
		r.cfg.Handler.HandleMessage(&Message{Header: Header{Kind: KindDisconnect, Dst: r.cfg.ID, Src: id}, Payload: reason})
	}
}

func (r *Router) linkDown(l *Link, err error) {
	r.mu.Lock()
	wasParent := r.parent == l
	if wasParent {
		r.parent = nil
	}
	lost := r.unlinkLocked(l)
	r.mu.Unlock()
	sort.Slice(lost, func(i, j int) bool { return lost[i] < lost[j] })
	r.cfg.Logf("router: link %s down: %v", l.cfg.Name, err)
	var reason []byte
	if l.cfg.Reason != nil {
		reason = []byte(l.cfg.Reason(err))
	}
	r.flood(lost, l, reason)
	if wasParent {
		// Whatever lay beyond the parent is gone; the endpoint fails what it had there.
		r.cfg.Handler.HandleMessage(&Message{Header: Header{Kind: KindDisconnect, Dst: r.cfg.ID, Src: Unreachable}, Payload: reason})
	}
	if r.cfg.OnLinkDown != nil {
		r.cfg.OnLinkDown(l, lost, err)
	}
}

// shed takes down the link with the most queued once the queues of all links together exceed
// MaxQueueTotal: that link's peer is the one not reading.
func (r *Router) shed(total int64) {
	r.mu.Lock()
	var worst *Link
	most := 0
	for l := range r.links {
		if q := l.queuedCost(); q > most {
			worst, most = l, q
		}
	}
	r.mu.Unlock()
	if worst != nil {
		worst.fail(fmt.Errorf("%w: %d bytes queued on all links, bound %d; this link holds %d", ErrQueueOverflow, total, r.cfg.MaxQueueTotal, most))
	}
}

// Links returns a snapshot of every link's counters.
func (r *Router) Links() []LinkStats {
	r.mu.Lock()
	var out []LinkStats
	for l := range r.links {
		s := l.stats()
		for id := range l.routed {
			s.Routes = append(s.Routes, id)
		}
		sort.Slice(s.Routes, func(i, j int) bool { return s.Routes[i] < s.Routes[j] })
		out = append(out, s)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Close takes every link down and waits, as yamux's Session.Close does, until their readers
// and writers have returned: closing a link's ReadWriteCloser must end a blocked Read and
// Write (a net.Conn's and a pollable *os.File's Close do). Links added later start down. It
// must not be called from the Handler or OnLinkDown, which run on those goroutines.
func (r *Router) Close() {
	r.mu.Lock()
	r.closed = true
	links := make([]*Link, 0, len(r.links))
	for l := range r.links {
		links = append(links, l)
	}
	r.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
	r.wg.Wait()
}
