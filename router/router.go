package router

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
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

// Config configures a Router.
type Config struct {
	ID         ID      // this context's id
	Handler    Handler // local delivery; required
	MaxPayload int     // largest accepted frame payload; default DefaultMaxPayload
	MaxQueue   int     // bytes queued on one link before it is torn down; default 1 GiB
	Logf       Logf    // may be nil
	// OnLinkDown, if set, is called once per link after its routes are gone.
	OnLinkDown func(l *Link, lost []ID, err error)
}

// Router forwards frames between links and to the local Handler.
// All methods are safe for concurrent use.
type Router struct {
	cfg Config

	mu     sync.Mutex // protects routes, links, parent; taken before any Link.mu
	routes map[ID]*Link
	links  map[*Link]struct{}
	parent *Link
}

// New returns a Router with no links.
func New(cfg Config) *Router {
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.MaxQueue <= 0 {
		// Endpoints' windows bound what queues (8 MiB per stream); this only stops a peer
		// that ignores them, so it leaves room for a hundred busy streams on a slow link.
		cfg.MaxQueue = 1 << 30
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Router{cfg: cfg, routes: map[ID]*Link{}, links: map[*Link]struct{}{}}
}

// ID is this context's id.
func (r *Router) ID() ID { return r.cfg.ID }

// MaxPayload is the largest frame payload this router accepts.
func (r *Router) MaxPayload() int { return r.cfg.MaxPayload }

// AddLink attaches a neighbour reached over rwc and starts its reader and writer.
// The contexts in lc.Routes become reachable through it.
func (r *Router) AddLink(rwc io.ReadWriteCloser, lc LinkConfig) *Link {
	l := &Link{r: r, cfg: lc, rwc: rwc, wake: make(chan struct{}, 1), done: make(chan struct{})}
	r.mu.Lock()
	r.links[l] = struct{}{}
	if lc.Parent {
		r.parent = l
	}
	for _, id := range lc.Routes {
		r.routes[id] = l
	}
	r.mu.Unlock()
	go l.readLoop()
	go l.writeLoop()
	return l
}

// AddRoute makes id reachable through l (a context behind a context).
func (r *Router) AddRoute(id ID, l *Link) {
	r.mu.Lock()
	r.routes[id] = l
	r.mu.Unlock()
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
	return l.enqueue(m)
}

func (r *Router) lookupLocked(id ID) *Link {
	if l, ok := r.routes[id]; ok {
		return l
	}
	return r.parent
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
	if !from.cfg.Parent && r.routes[m.Src] != from {
		r.mu.Unlock()
		r.cfg.Logf("router: link %s: dropping frame from context %d, which is not behind it (%v)", from.cfg.Name, m.Src, m)
		return
	}
	local := m.Dst == r.cfg.ID
	var to *Link
	if !local {
		to = r.lookupLocked(m.Dst)
	}
	r.mu.Unlock()
	switch {
	case local:
		r.cfg.Handler.HandleMessage(m)
	case to == nil:
		r.bounce(m, "no route to context")
	case to == from:
		r.bounce(m, "route loops back")
	case !from.cfg.Trusted && !to.cfg.Trusted:
		r.cfg.Logf("router: refused frame from context %d to context %d: targets may not reach other targets", m.Src, m.Dst)
		r.bounce(m, "permission denied")
	default:
		if err := to.enqueue(m); err != nil {
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
		r.cfg.Logf("router: dropping dead notice for %v: %v", m, err)
	}
}

// disconnectFrom handles a Disconnect notice: context m.Src is gone. Only the link the context
// lived behind (or the parent) may say so; the notice floods on to every other neighbour.
func (r *Router) disconnectFrom(m *Message, from *Link) {
	r.mu.Lock()
	if !from.cfg.Parent && r.routes[m.Src] != from {
		r.mu.Unlock()
		r.cfg.Logf("router: link %s: ignoring disconnect of context %d, which is not behind it", from.cfg.Name, m.Src)
		return
	}
	if r.routes[m.Src] == from {
		delete(r.routes, m.Src)
	}
	r.mu.Unlock()
	r.flood([]ID{m.Src}, from)
}

// flood tells every neighbour but except, and the local handler, that ids are gone.
func (r *Router) flood(ids []ID, except *Link) {
	r.mu.Lock()
	links := make([]*Link, 0, len(r.links))
	for l := range r.links {
		if l != except {
			links = append(links, l)
		}
	}
	r.mu.Unlock()
	for _, id := range ids {
		for _, l := range links {
			l.enqueue(&Message{Header: Header{Kind: KindDisconnect, Src: id}}) // a dead link is no loss
		}
		r.cfg.Handler.HandleMessage(&Message{Header: Header{Kind: KindDisconnect, Dst: r.cfg.ID, Src: id}})
	}
}

func (r *Router) linkDown(l *Link, err error) {
	r.mu.Lock()
	delete(r.links, l)
	wasParent := r.parent == l
	if wasParent {
		r.parent = nil
	}
	var lost []ID
	for id, via := range r.routes {
		if via == l {
			lost = append(lost, id)
			delete(r.routes, id)
		}
	}
	r.mu.Unlock()
	sort.Slice(lost, func(i, j int) bool { return lost[i] < lost[j] })
	r.cfg.Logf("router: link %s down: %v", l.cfg.Name, err)
	r.flood(lost, l)
	if wasParent {
		// Whatever lay beyond the parent is gone; the endpoint fails what it had there.
		r.cfg.Handler.HandleMessage(&Message{Header: Header{Kind: KindDisconnect, Dst: r.cfg.ID, Src: Unreachable}})
	}
	if r.cfg.OnLinkDown != nil {
		r.cfg.OnLinkDown(l, lost, err)
	}
}

// Links returns a snapshot of every link's counters.
func (r *Router) Links() []LinkStats {
	r.mu.Lock()
	var out []LinkStats
	for l := range r.links {
		s := l.stats()
		for id, via := range r.routes {
			if via == l {
				s.Routes = append(s.Routes, id)
			}
		}
		out = append(out, s)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Close takes every link down.
func (r *Router) Close() {
	r.mu.Lock()
	links := make([]*Link, 0, len(r.links))
	for l := range r.links {
		links = append(links, l)
	}
	r.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
}
