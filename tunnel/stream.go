package tunnel

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/router"
)

// Request is a named in-stream request, as in SSH channels: "exit-status", "exit-signal",
// "signal", "window-change".
type Request struct {
	Name    string
	Payload []byte
}

// grantFraction: a reader grants its window back once 1/grantFraction of it has been read.
const grantFraction = 4

// maxPendingRequests bounds requests the owner has not taken yet; more is a protocol error.
const maxPendingRequests = 64

// Stream is a bidirectional, flow-controlled byte stream with a second inbound and outbound
// substream (stderr) sharing its window, and named requests.
//
// Read, Stderr().Read, Write, StderrWriter().Write, CloseWrite, SendRequest, Close and the
// deadline setters are safe to call concurrently with each other; concurrent calls to the same
// reader are not.
//
// Concurrency: mu protects everything below it; it is never held while sending (a frame to
// this context is handled on the sending goroutine, which may need mu) and is taken after
// Endpoint.mu is released, never the other way round.
type Stream struct {
	ep     *Endpoint
	id     uint32        // our handle
	peer   router.ID     // the other end's context
	opened chan struct{} // closed when the stream leaves stateOpening
	reqs   chan Request
	ctx    context.Context
	cancel context.CancelCauseFunc

	// Set before opened is closed, read-only after.
	remote  uint32 // the peer's handle
	openErr error
	accept  []byte // what the acceptor sent with its accept

	mu        sync.Mutex
	cond      *sync.Cond // broadcast on every change below
	state     streamState
	sentEOF   bool   // this side's half-close (independent of state)
	gotEOF    bool   // the peer's half-close
	sendWin   uint32 // bytes we may still send
	sendMax   uint32 // the window the peer gave at open, at most MaxWindow; sendWin never exceeds it
	recvAvail uint32 // bytes the peer may still send
	unacked   uint32 // bytes read but not yet granted back
	stdout    chunks
	stderr    chunks
	err       error // terminal error for reads and writes
	rdl, wdl  deadline
}

// streamState is a stream's lifecycle (router/spec.md 5.1 and 5.4). Transitions, all under
// Stream.mu, go only forward:
//
//	opening -> open      the peer accepted (OpenOK)
//	opening -> closed    rejected (OpenFail), Dead, Disconnect, given up, a protocol violation
//	open    -> closing   Close: ours is sent, the peer's is awaited
//	open    -> closed    the peer's Close (answered at once), a reset, a local failure
//	closing -> closed    the peer's Close, a reset, a local failure
//
// A stream in stateClosed is forgotten by its endpoint. Half-close (EOF) is per direction and
// kept apart, in sentEOF and gotEOF.
type streamState uint8

const (
	stateOpening streamState = iota // Open sent, not answered yet (the opener's side only)
	stateOpen
	stateClosing
	stateClosed
)

var stateNames = [...]string{"opening", "open", "closing", "closed"}

// kindName names a stream frame's kind as the spec does, for protocol errors.
func kindName(k router.Kind) string {
	names := map[router.Kind]string{router.KindOpenOK: "OpenOK", router.KindOpenFail: "OpenFail", router.KindData: "Data",
		router.KindExtData: "ExtData", router.KindWindow: "Window", router.KindEOF: "EOF", router.KindClose: "Close",
		router.KindStreamRequest: "StreamRequest"}
	if n, ok := names[k]; ok {
		return n
	}
	return fmt.Sprintf("kind %d", k)
}

func (st streamState) String() string { return stateNames[st] }

func newStream(e *Endpoint, id uint32, peer router.ID) *Stream {
	s := &Stream{ep: e, id: id, peer: peer, opened: make(chan struct{}), reqs: make(chan Request, maxPendingRequests), recvAvail: e.window}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	s.cond = sync.NewCond(&s.mu)
	return s
}

// Peer is the context at the other end.
func (s *Stream) Peer() router.ID { return s.peer }

// Requests delivers the peer's requests; it is closed when the stream closes.
func (s *Stream) Requests() <-chan Request { return s.reqs }

// Context is done once the stream is over (both Closes, a reset, the peer gone); its cause is
// why (ErrClosed for an orderly end).
func (s *Stream) Context() context.Context { return s.ctx }

// CloseWhenDone ties the stream to ctx: once ctx is done, a stream not over by then is closed
// with ctx's cause as the reason the peer is given (a Close with FlagError).
func (s *Stream) CloseWhenDone(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { s.closeWith(context.Cause(ctx)) })
	context.AfterFunc(s.ctx, func() { stop() })
}

// AcceptPayload is what the service sent with its accept (NewStream.Accept), nil on the
// accepting side.
func (s *Stream) AcceptPayload() []byte { return s.accept }

func (s *Stream) send(kind router.Kind, flags uint8, payload []byte) error {
	return s.ep.send(kind, flags, s.peer, s.remote, s.id, payload)
}

// moveLocked takes the stream to state to, with what each transition implies: the wait in
// Open ends when it leaves opening; everything ends when it reaches closed.
func (s *Stream) moveLocked(to streamState) {
	from := s.state
	if to <= from {
		return
	}
	s.state = to
	if from == stateOpening {
		if to != stateOpen {
			s.openErr = s.err
			if s.openErr == nil {
				s.openErr = ErrClosed
			}
		}
		close(s.opened)
	}
	if to == stateClosed {
		close(s.reqs)
		s.rdl.stop()
		s.wdl.stop()
		cause := s.err
		if cause == nil {
			cause = ErrClosed
		}
		s.cancel(cause)
	}
	s.cond.Broadcast()
}

// handle applies one frame from the peer. It never blocks.
func (s *Stream) handle(m *router.Message) {
	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	switch {
	case state == stateOpening:
		s.handleOpening(m)
		return
	case m.Kind == router.KindOpenOK || m.Kind == router.KindOpenFail:
		// An answer to an open this side never made, or a second one: the peer is broken.
		s.reset(fmt.Errorf("tunnel: %s for a stream that is %v", kindName(m.Kind), state))
		return
	}
	switch m.Kind {
	case router.KindData, router.KindExtData:
		s.receive(m)
	case router.KindWindow:
		if len(m.Payload) != 4 {
			s.reset(fmt.Errorf("tunnel: bad window frame"))
			return
		}
		grant := binary.BigEndian.Uint32(m.Payload)
		s.mu.Lock()
		if uint64(s.sendWin)+uint64(grant) > uint64(s.sendMax) {
			s.mu.Unlock()
			s.reset(fmt.Errorf("tunnel: window grant of %d bytes exceeds the window of %d", grant, s.sendMax))
			return
		}
		s.sendWin += grant
		s.cond.Broadcast()
		s.mu.Unlock()
	case router.KindEOF:
		s.mu.Lock()
		s.gotEOF = true
		s.cond.Broadcast()
		s.mu.Unlock()
	case router.KindStreamRequest:
		s.request(m.Payload)
	case router.KindClose:
		var err error
		if m.Flags&router.FlagError != 0 {
			err = &RemoteError{Msg: reason(m.Payload)}
		}
		s.closedByPeer(err)
	}
}

// handleOpening applies a frame to a stream whose open is unanswered: only OpenOK or OpenFail
// may come (the acceptor sends OpenOK before anything else). Anything else fails the open; the
// peer is not told, since its handle is not known yet, and its OpenOK, if one comes, finds no
// stream and is answered with Close (spec 5.1).
func (s *Stream) handleOpening(m *router.Message) {
	var err error
	switch m.Kind {
	case router.KindOpenOK:
		if len(m.Payload) < 4 {
			err = fmt.Errorf("tunnel: malformed open confirmation")
			break
		}
		s.mu.Lock()
		if s.state != stateOpening { // raced with Close or a failure
			s.mu.Unlock()
			s.ep.send(router.KindClose, 0, m.Src, m.ReplyTo, 0, nil)
			return
		}
		s.remote = m.ReplyTo
		s.setSendWindow(binary.BigEndian.Uint32(m.Payload))
		if len(m.Payload) > 4 {
			s.accept = m.Payload[4:]
		}
		s.moveLocked(stateOpen)
		s.mu.Unlock()
		return
	case router.KindOpenFail:
		err = parseOpenFail(m.Payload)
	default:
		err = fmt.Errorf("tunnel: %s before the open was answered", kindName(m.Kind))
		s.ep.dropLog.Logf(s.ep.logf, "tunnel: stream %d with context %d: %v", s.id, s.peer, err)
	}
	s.fail(err)
}

// setSendWindow starts the send window at what the peer advertised, at most MaxWindow.
// It is called before the stream is shared, or with s.mu held.
func (s *Stream) setSendWindow(advertised uint32) {
	s.sendMax = min(advertised, MaxWindow)
	s.sendWin = s.sendMax
}

func (s *Stream) receive(m *router.Message) {
	s.mu.Lock()
	if uint64(len(m.Payload)) > uint64(s.recvAvail) {
		s.mu.Unlock()
		s.reset(fmt.Errorf("%w: %d bytes with %d available", ErrWindowExceeded, len(m.Payload), s.recvAvail))
		return
	}
	s.recvAvail -= uint32(len(m.Payload))
	if s.err == nil && !s.gotEOF && s.state == stateOpen {
		if m.Kind == router.KindData {
			s.stdout.push(m.Payload)
		} else {
			s.stderr.push(m.Payload)
		}
	}
	s.cond.Broadcast()
	s.mu.Unlock()
}

func (s *Stream) request(p []byte) {
	name, payload, ok := splitRequest(p)
	if !ok {
		s.reset(fmt.Errorf("tunnel: malformed stream request"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateClosed {
		return
	}
	select {
	case s.reqs <- Request{Name: name, Payload: payload}:
	default:
		s.err = fmt.Errorf("tunnel: too many pending requests")
		s.cond.Broadcast()
	}
}

// Read reads stdout (the stream's main data).
func (s *Stream) Read(p []byte) (int, error) { return s.read(&s.stdout, p) }

// Stderr returns a reader of the extended data (stderr).
func (s *Stream) Stderr() io.Reader { return extReader{s} }

// StderrWriter returns a writer of extended data (stderr).
func (s *Stream) StderrWriter() io.Writer { return extWriter{s} }

type extReader struct{ s *Stream }

func (r extReader) Read(p []byte) (int, error) { return r.s.read(&r.s.stderr, p) }

type extWriter struct{ s *Stream }

func (w extWriter) Write(p []byte) (int, error) { return w.s.write(router.KindExtData, p) }

func (s *Stream) read(q *chunks, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.mu.Lock()
	for q.empty() && s.err == nil && !s.gotEOF && s.state < stateClosed && !s.rdl.passed() {
		s.cond.Wait()
	}
	if q.empty() {
		err := s.err
		if err == nil && !s.gotEOF && s.state < stateClosed {
			err = os.ErrDeadlineExceeded
		}
		s.mu.Unlock()
		if err == nil {
			err = io.EOF
		}
		return 0, err
	}
	n := q.read(p)
	grant := s.consumedLocked(uint32(n))
	s.mu.Unlock()
	if grant > 0 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], grant)
		s.send(router.KindWindow, 0, b[:])
	}
	return n, nil
}

// consumedLocked records n bytes read and returns a window grant once a quarter window is due:
// batched rather than sent per read, yet early enough that the sender rarely waits for it.
func (s *Stream) consumedLocked(n uint32) uint32 {
	s.unacked += n
	if s.unacked < s.ep.window/grantFraction || s.state != stateOpen {
		return 0
	}
	g := s.unacked
	s.unacked = 0
	s.recvAvail += g
	return g
}

// Write writes stdout-direction data, blocking until the peer's window has room.
func (s *Stream) Write(p []byte) (int, error) { return s.write(router.KindData, p) }

func (s *Stream) write(kind router.Kind, p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		s.mu.Lock()
		for s.sendWin == 0 && s.err == nil && s.state == stateOpen && !s.sentEOF && !s.wdl.passed() {
			s.cond.Wait()
		}
		switch {
		case s.err != nil:
			err := s.err
			s.mu.Unlock()
			return written, err
		case s.state != stateOpen || s.sentEOF:
			s.mu.Unlock()
			return written, io.ErrClosedPipe
		case s.sendWin == 0:
			s.mu.Unlock()
			return written, os.ErrDeadlineExceeded
		}
		n := min(len(p), maxChunk, int(s.sendWin))
		s.sendWin -= uint32(n)
		s.mu.Unlock()
		chunk := make([]byte, n) // the router queues the payload; the caller reuses p
		copy(chunk, p[:n])
		if err := s.send(kind, 0, chunk); err != nil {
			s.fail(err)
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// CloseWrite sends EOF: the peer's reads end once it has read what was sent.
func (s *Stream) CloseWrite() error {
	s.mu.Lock()
	if s.sentEOF || s.state != stateOpen {
		s.mu.Unlock()
		return nil
	}
	s.sentEOF = true
	s.cond.Broadcast()
	s.mu.Unlock()
	return s.send(router.KindEOF, 0, nil)
}

// SendRequest sends a named request to the peer.
func (s *Stream) SendRequest(name string, payload []byte) error {
	s.mu.Lock()
	open := s.state == stateOpen
	s.mu.Unlock()
	if !open {
		return ErrClosed
	}
	return s.send(router.KindStreamRequest, 0, joinRequest(name, payload))
}

// SetReadDeadline makes reads (of either substream) that wait past t fail with
// os.ErrDeadlineExceeded; the zero time means none. The stream stays usable.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.rdl.set(s, t)
	s.mu.Unlock()
	return nil
}

// SetWriteDeadline makes writes that wait for window past t fail with os.ErrDeadlineExceeded
// (some of the data may have been sent); the zero time means none.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	s.wdl.set(s, t)
	s.mu.Unlock()
	return nil
}

// SetDeadline sets both deadlines.
func (s *Stream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

// Close ends the stream in both directions. Reads of data already received still succeed.
func (s *Stream) Close() error { return s.closeWith(nil) }

// reset ends the stream after a protocol violation: it fails locally at once and tells the
// peer with a Close carrying the error. It does not wait for the peer's Close.
func (s *Stream) reset(err error) {
	s.ep.dropLog.Logf(s.ep.logf, "tunnel: stream %d with context %d: %v", s.id, s.peer, err)
	s.mu.Lock()
	if s.err == nil || s.err == ErrClosed {
		s.err = err
	}
	tell := s.state == stateOpen // in closing ours is out already; opening has no peer handle
	s.moveLocked(stateClosed)
	s.mu.Unlock()
	s.ep.forget(s)
	if tell {
		s.send(router.KindClose, router.FlagError, []byte(err.Error()))
	}
}

func (s *Stream) closeWith(cause error) error {
	s.mu.Lock()
	state := s.state
	if state >= stateClosing {
		s.mu.Unlock()
		return nil
	}
	if s.err == nil {
		s.err = ErrClosed
	}
	if state == stateOpening {
		// Not open yet: the peer's OpenOK, if one comes, finds no stream and closes its end.
		s.moveLocked(stateClosed)
		s.mu.Unlock()
		s.ep.forget(s)
		return nil
	}
	s.moveLocked(stateClosing)
	s.mu.Unlock()
	if cause != nil {
		return s.send(router.KindClose, router.FlagError, []byte(cause.Error()))
	}
	return s.send(router.KindClose, 0, nil)
}

func (s *Stream) closedByPeer(err error) {
	s.mu.Lock()
	if err != nil && (s.err == nil || s.err == ErrClosed) {
		s.err = err
	}
	reply := s.state == stateOpen
	s.moveLocked(stateClosed)
	s.mu.Unlock()
	s.ep.forget(s)
	if reply {
		s.send(router.KindClose, 0, nil)
	}
}

// fail ends the stream locally with err (disconnect, dead route, a failed open); nothing is
// sent.
func (s *Stream) fail(err error) {
	s.mu.Lock()
	if s.err == nil || s.err == ErrClosed {
		s.err = err
	}
	s.moveLocked(stateClosed)
	s.mu.Unlock()
	s.ep.forget(s)
}

// deadline is one direction's deadline, with the timer that wakes its waiters when it passes.
// Guarded by Stream.mu.
type deadline struct {
	t     time.Time
	timer *time.Timer
}

func (d *deadline) set(s *Stream, t time.Time) {
	d.stop()
	d.t = t
	s.cond.Broadcast() // a waiter rechecks against the new time
	if wait := time.Until(t); !t.IsZero() && wait > 0 {
		d.timer = time.AfterFunc(wait, func() {
			s.mu.Lock()
			s.cond.Broadcast()
			s.mu.Unlock()
		})
	}
}

func (d *deadline) stop() {
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

func (d *deadline) passed() bool { return !d.t.IsZero() && !time.Now().Before(d.t) }

func joinRequest(name string, payload []byte) []byte {
	b := make([]byte, 0, len(name)+1+len(payload))
	b = append(b, name...)
	b = append(b, 0)
	return append(b, payload...)
}

func splitRequest(p []byte) (string, []byte, bool) {
	for i, c := range p {
		if c == 0 {
			return string(p[:i]), p[i+1:], i > 0
		}
	}
	return "", nil, false
}

// chunks is a FIFO of received payloads, read without copying them twice.
type chunks struct {
	bufs [][]byte
}

func (c *chunks) empty() bool { return len(c.bufs) == 0 }

func (c *chunks) push(b []byte) {
	if len(b) > 0 {
		c.bufs = append(c.bufs, b)
	}
}

func (c *chunks) read(p []byte) int {
	n := 0
	for n < len(p) && len(c.bufs) > 0 {
		k := copy(p[n:], c.bufs[0])
		n += k
		if k == len(c.bufs[0]) {
			c.bufs[0] = nil
			c.bufs = c.bufs[1:]
		} else {
			c.bufs[0] = c.bufs[0][k:]
		}
	}
	return n
}
