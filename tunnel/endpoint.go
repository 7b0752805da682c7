package tunnel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/internal/ratelog"
	"github.com/mitogen-go/mitogend/router"
)

// DefaultWindow is each direction's receive window unless configured otherwise. It is larger
// than an SSH channel's 2 MiB so that, over a long link, the SSH window is the only limit: with
// 2 MiB here, rsync of a big file at 50 ms RTT ran at half ControlMaster's speed.
const DefaultWindow = 8 << 20

// MaxWindow is the largest window a peer may give a sender. A larger advertised window is taken
// as MaxWindow, and a grant that would raise the send window above the window the stream began
// with is a protocol violation: honest receivers only give back what they have read, so a
// receiver that never reads can make a sender queue no more than this.
const MaxWindow = 2 * DefaultWindow

// maxChunk bounds one data frame: big enough to amortise headers, small enough to interleave.
const maxChunk = 64 << 10

// FirstDynamicHandle is the first handle an endpoint allocates for its streams and calls;
// handles below it name services.
const FirstDynamicHandle = 1024

// Errors a caller may branch on.
var (
	ErrWindowExceeded = errors.New("tunnel: window exceeded")
	ErrClosed         = errors.New("tunnel: stream closed")
	ErrDisconnected   = errors.New("tunnel: context disconnected")
	ErrNoService      = errors.New("tunnel: no such service")
)

// RemoteError is an error reported by the peer (a failed call, a refused open, a reset).
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return e.Msg }

// DisconnectError ends the calls and streams of a context that is gone. It matches
// ErrDisconnected.
type DisconnectError struct {
	Context router.ID // router.Unreachable when this context lost its parent link
	// Reason is why, in the words of the router that lost the context ("Timeout, server
	// 10.0.0.1 not responding."), or "". It comes from the wire: print it escaped.
	Reason string
}

func (e *DisconnectError) Error() string {
	msg := fmt.Sprintf("tunnel: context %d disconnected", e.Context)
	if e.Context == router.Unreachable {
		msg = "tunnel: parent link lost"
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

func (e *DisconnectError) Unwrap() error { return ErrDisconnected }

// maxReason bounds the Disconnect reason an endpoint keeps.
const maxReason = 1 << 10

// Sender is what an Endpoint sends through: a *router.Router.
type Sender interface {
	ID() router.ID
	Send(m *router.Message) error
	Reachable(id router.ID) bool
	// OnPath reports whether src may answer for dst with a Dead notice (router.Router.OnPath).
	OnPath(src, dst router.ID) bool
}

// StreamHandler serves a stream opened by a peer and accepted (Listen, AcceptAll); payload is
// what the opener sent with it. It runs on its own goroutine and owns the stream.
type StreamHandler func(s *Stream, payload []byte)

// CallHandler answers a call from context src. It runs on its own goroutine; ctx is cancelled
// when src disconnects (the answer would go nowhere), with a DisconnectError as its cause.
type CallHandler func(ctx context.Context, src router.ID, payload []byte) ([]byte, error)

// Endpoint is one context's set of streams, calls and services.
// All methods are safe for concurrent use.
//
// Concurrency: Endpoint.mu protects the maps below and is held only for map work: never while
// sending, never while taking a Stream.mu (a Stream may take Endpoint.mu with or without its
// own mu released; the order, where both are held, is Stream.mu then Endpoint.mu). Handlers
// (stream and call) run on goroutines of their own; HandleMessage runs on the router's link
// readers and never blocks.
type Endpoint struct {
	out     Sender
	window  uint32
	logf    router.Logf
	dropLog *ratelog.Limiter // forged answers and protocol violations: a flood must not flood the log

	mu       sync.Mutex
	next     uint32
	streams  map[uint32]*Stream
	calls    map[uint32]*call
	services map[uint32]NewStreamHandler
	handlers map[uint32]CallHandler
	pending  map[*NewStream]struct{}  // opens a service has not answered yet
	serving  map[*servedCall]struct{} // calls a handler is answering
}

// servedCall is a call a handler is answering: its context ends when the caller's does.
type servedCall struct {
	src    router.ID
	cancel context.CancelCauseFunc
}

type call struct {
	dst   router.ID
	reply chan *router.Message
}

// NewEndpoint returns an endpoint with no sender; call Attach before use. (The router needs the
// endpoint as its Handler and the endpoint needs the router to send: two steps.)
func NewEndpoint(logf router.Logf) *Endpoint {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Endpoint{
		window:   DefaultWindow,
		logf:     logf,
		dropLog:  ratelog.New(20, time.Second),
		next:     FirstDynamicHandle,
		streams:  map[uint32]*Stream{},
		calls:    map[uint32]*call{},
		services: map[uint32]NewStreamHandler{},
		handlers: map[uint32]CallHandler{},
		pending:  map[*NewStream]struct{}{},
		serving:  map[*servedCall]struct{}{},
	}
}

// Attach sets the sender. It must be called once, before any message flows.
func (e *Endpoint) Attach(s Sender) { e.out = s }

// HandleCall serves calls to handle.
func (e *Endpoint) HandleCall(handle uint32, h CallHandler) {
	e.mu.Lock()
	e.handlers[handle] = h
	e.mu.Unlock()
}

// Streams is the number of open streams.
func (e *Endpoint) Streams() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.streams)
}

func (e *Endpoint) allocLocked() uint32 {
	for {
		e.next++
		if e.next < FirstDynamicHandle {
			e.next = FirstDynamicHandle
		}
		if _, ok := e.streams[e.next]; ok {
			continue
		}
		if _, ok := e.calls[e.next]; ok {
			continue
		}
		return e.next
	}
}

func (e *Endpoint) send(kind router.Kind, flags uint8, dst router.ID, handle, replyTo uint32, payload []byte) error {
	return e.out.Send(&router.Message{
		Header:  router.Header{Kind: kind, Flags: flags, Dst: dst, Src: e.out.ID(), Handle: handle, ReplyTo: replyTo},
		Payload: payload,
	})
}

// Call sends payload to handle at dst and waits for the reply.
func (e *Endpoint) Call(ctx context.Context, dst router.ID, handle uint32, payload []byte) ([]byte, error) {
	c := &call{dst: dst, reply: make(chan *router.Message, 1)}
	e.mu.Lock()
	id := e.allocLocked()
	e.calls[id] = c
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.calls, id)
		e.mu.Unlock()
	}()
	if err := e.send(router.KindRequest, 0, dst, handle, id, payload); err != nil {
		return nil, err
	}
	select {
	case m := <-c.reply:
		switch {
		case m.Kind == router.KindDead:
			return nil, fmt.Errorf("%w: %s", ErrDisconnected, m.Payload)
		case m.Kind == router.KindDisconnect:
			return nil, &DisconnectError{Context: dst, Reason: reason(m.Payload)}
		case m.Flags&router.FlagError != 0:
			return nil, &RemoteError{Msg: string(m.Payload)}
		}
		return m.Payload, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// Open opens a stream to the service at handle on dst, sending payload with the request,
// and waits for the service to accept it (what it sent with the accept is the stream's
// AcceptPayload) or reject it (an *OpenError). ctx bounds the wait only.
func (e *Endpoint) Open(ctx context.Context, dst router.ID, handle uint32, payload []byte) (*Stream, error) {
	e.mu.Lock()
	s := newStream(e, e.allocLocked(), dst)
	e.streams[s.id] = s
	e.mu.Unlock()
	msg := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(msg, e.window)
	copy(msg[4:], payload)
	if err := e.send(router.KindOpen, 0, dst, handle, s.id, msg); err != nil {
		e.forget(s)
		return nil, err
	}
	select {
	case <-s.opened:
	case <-ctx.Done():
		s.Close()
		return nil, context.Cause(ctx)
	}
	if err := s.openErr; err != nil {
		e.forget(s)
		return nil, err
	}
	return s, nil
}

func (e *Endpoint) forget(s *Stream) {
	e.mu.Lock()
	if e.streams[s.id] == s {
		delete(e.streams, s.id)
	}
	e.mu.Unlock()
}

// HandleMessage implements router.Handler. It never blocks.
func (e *Endpoint) HandleMessage(m *router.Message) {
	switch m.Kind {
	case router.KindRequest:
		e.serveCall(m)
	case router.KindReply, router.KindDead:
		e.answer(m)
	case router.KindDisconnect:
		if m.Src == router.Unreachable {
			e.disconnectUnreachable(reason(m.Payload))
		} else {
			e.disconnect(m.Src, reason(m.Payload))
		}
	case router.KindOpen:
		e.accept(m)
	default:
		e.mu.Lock()
		s := e.streams[m.Handle]
		e.mu.Unlock()
		if s == nil || s.peer != m.Src {
			if m.Kind == router.KindOpenOK {
				// The opener gave up; close the stream the peer just made.
				e.send(router.KindClose, 0, m.Src, m.ReplyTo, 0, nil)
			}
			return
		}
		s.handle(m)
	}
}

// answer hands a Reply or Dead to the call or stream whose handle it names, if it comes from
// a context that may give it: a Reply only from the call's destination, a Dead only from the
// destination or a router on the way to it. Anything else is forged (a target naming another
// target's handles) or misrouted, and is dropped.
func (e *Endpoint) answer(m *router.Message) {
	e.mu.Lock()
	c := e.calls[m.Handle]
	s := e.streams[m.Handle]
	e.mu.Unlock()
	switch {
	case c != nil && e.answers(m, c.dst):
		select {
		case c.reply <- m:
		default: // a duplicate answer; the first one counts
		}
	case s != nil && m.Kind == router.KindDead && e.answers(m, s.peer):
		s.fail(&RemoteError{Msg: string(m.Payload)})
	case c != nil || s != nil:
		e.dropLog.Logf(e.logf, "tunnel: dropping %v: context %d may not answer for handle %d", m, m.Src, m.Handle)
	}
}

// answers reports whether m, a Reply or Dead, may answer something sent to dst.
func (e *Endpoint) answers(m *router.Message, dst router.ID) bool {
	if m.Kind == router.KindReply {
		return m.Src == dst
	}
	return e.out.OnPath(m.Src, dst)
}

// reason is a Disconnect's payload as kept: bounded, since it comes from the wire.
func reason(p []byte) string {
	if len(p) > maxReason {
		p = p[:maxReason]
	}
	return string(p)
}

func (e *Endpoint) serveCall(m *router.Message) {
	e.mu.Lock()
	h := e.handlers[m.Handle]
	e.mu.Unlock()
	if h == nil {
		e.send(router.KindReply, router.FlagError, m.Src, m.ReplyTo, 0, []byte(fmt.Sprintf("%v %d", ErrNoService, m.Handle)))
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	sc := &servedCall{src: m.Src, cancel: cancel}
	// Registered on the reader goroutine, before the caller's Disconnect can be handled.
	e.mu.Lock()
	e.serving[sc] = struct{}{}
	e.mu.Unlock()
	go func() {
		defer func() {
			e.mu.Lock()
			delete(e.serving, sc)
			e.mu.Unlock()
			cancel(nil)
		}()
		resp, err := h(ctx, m.Src, m.Payload)
		if err != nil {
			e.send(router.KindReply, router.FlagError, m.Src, m.ReplyTo, 0, []byte(err.Error()))
			return
		}
		if err := e.send(router.KindReply, 0, m.Src, m.ReplyTo, 0, resp); err != nil {
			e.logf("tunnel: reply to context %d: %v", m.Src, err)
		}
	}()
}

func (e *Endpoint) accept(m *router.Message) {
	if len(m.Payload) < 4 {
		e.reject(m.Src, m.ReplyTo, UnknownType, "tunnel: open without window")
		return
	}
	e.mu.Lock()
	h := e.services[m.Handle]
	e.mu.Unlock()
	if h == nil {
		e.reject(m.Src, m.ReplyTo, UnknownType, fmt.Sprintf("%v %d", ErrNoService, m.Handle))
		return
	}
	e.serveOpen(m, h)
}

// disconnect fails everything that depended on context id.
func (e *Endpoint) disconnect(id router.ID, why string) {
	e.failPeers(func(peer router.ID) bool { return peer == id }, &DisconnectError{Context: id, Reason: why}, why)
}

// disconnectUnreachable fails everything whose peer no route leads to any more: the parent
// link is gone, and with it every context beyond it.
func (e *Endpoint) disconnectUnreachable(why string) {
	e.failPeers(func(peer router.ID) bool { return !e.out.Reachable(peer) }, &DisconnectError{Context: router.Unreachable, Reason: why}, why)
}

func (e *Endpoint) failPeers(gone func(router.ID) bool, err error, why string) {
	e.mu.Lock()
	var streams []*Stream
	for _, s := range e.streams {
		if gone(s.peer) {
			streams = append(streams, s)
		}
	}
	var calls []*call
	for _, c := range e.calls {
		if gone(c.dst) {
			calls = append(calls, c)
		}
	}
	for n := range e.pending {
		if gone(n.peer) {
			n.gone = err
			delete(e.pending, n)
		}
	}
	var served []*servedCall
	for sc := range e.serving {
		if gone(sc.src) {
			served = append(served, sc)
		}
	}
	e.mu.Unlock()
	for _, s := range streams {
		s.fail(err)
	}
	for _, c := range calls {
		select {
		case c.reply <- &router.Message{Header: router.Header{Kind: router.KindDisconnect, Src: c.dst}, Payload: []byte(why)}:
		default:
		}
	}
	for _, sc := range served {
		sc.cancel(err)
	}
}
