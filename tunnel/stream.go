package tunnel

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"

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
// Read, Stderr().Read, Write, StderrWriter().Write, CloseWrite, SendRequest and Close are
// safe to call concurrently with each other; concurrent calls to the same reader are not.
type Stream struct {
	ep       *Endpoint
	id       uint32    // our handle
	peer     router.ID // the other end's context
	opened   chan struct{}
	openOnce sync.Once // closes opened
	reqs     chan Request

	// Set before opened is closed, read-only after.
	remote  uint32 // the peer's handle
	openErr error

	mu        sync.Mutex // protects the fields below; no sends while held
	cond      *sync.Cond // broadcast on every change below
	sendWin   uint32     // bytes we may still send
	sendMax   uint32     // the window the peer gave at open, at most MaxWindow; sendWin never exceeds it
	recvAvail uint32     // bytes the peer may still send
	unacked   uint32     // bytes read but not yet granted back
	stdout    chunks
	stderr    chunks
	gotEOF    bool
	sentEOF   bool
	gotClose  bool
	sentClose bool
	reqsDone  bool
	err       error // terminal error for reads and writes
}

func newStream(e *Endpoint, id uint32, peer router.ID) *Stream {
	s := &Stream{ep: e, id: id, peer: peer, opened: make(chan struct{}), reqs: make(chan Request, maxPendingRequests), recvAvail: e.window}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// Peer is the context at the other end.
func (s *Stream) Peer() router.ID { return s.peer }

// Requests delivers the peer's requests; it is closed when the stream closes.
func (s *Stream) Requests() <-chan Request { return s.reqs }

func (s *Stream) send(kind router.Kind, flags uint8, payload []byte) error {
	return s.ep.send(kind, flags, s.peer, s.remote, s.id, payload)
}

// handle applies one frame from the peer. It never blocks.
func (s *Stream) handle(m *router.Message) {
	switch m.Kind {
	case router.KindOpenOK:
		if len(m.Payload) != 4 {
			s.markOpened(fmt.Errorf("tunnel: malformed open confirmation"))
			return
		}
		s.openOnce.Do(func() {
			s.mu.Lock()
			s.remote = m.ReplyTo
			s.setSendWindow(binary.BigEndian.Uint32(m.Payload))
			s.mu.Unlock()
			close(s.opened)
		})
	case router.KindOpenFail:
		s.markOpened(&RemoteError{Msg: string(m.Payload)})
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
			err = &RemoteError{Msg: string(m.Payload)}
		}
		s.closedByPeer(err)
	}
}

// setSendWindow starts the send window at what the peer advertised, at most MaxWindow.
// It is called before the stream is shared, or with s.mu held.
func (s *Stream) setSendWindow(advertised uint32) {
	s.sendMax = min(advertised, MaxWindow)
	s.sendWin = s.sendMax
}

// markOpened ends the wait in Open, with err when the open failed. Only the first call counts.
func (s *Stream) markOpened(err error) {
	s.openOnce.Do(func() {
		s.openErr = err
		close(s.opened)
	})
}

func (s *Stream) receive(m *router.Message) {
	s.mu.Lock()
	if uint64(len(m.Payload)) > uint64(s.recvAvail) {
		s.mu.Unlock()
		s.reset(fmt.Errorf("%w: %d bytes with %d available", ErrWindowExceeded, len(m.Payload), s.recvAvail))
		return
	}
	s.recvAvail -= uint32(len(m.Payload))
	if s.err == nil && !s.gotEOF {
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
	if s.reqsDone {
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
	for q.empty() && s.err == nil && !s.gotEOF && !s.gotClose {
		s.cond.Wait()
	}
	if q.empty() {
		err := s.err
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
	if s.unacked < s.ep.window/grantFraction || s.gotClose || s.sentClose {
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
		for s.sendWin == 0 && s.err == nil && !s.gotClose && !s.sentEOF && !s.sentClose {
			s.cond.Wait()
		}
		switch {
		case s.err != nil:
			err := s.err
			s.mu.Unlock()
			return written, err
		case s.gotClose || s.sentEOF || s.sentClose:
			s.mu.Unlock()
			return written, io.ErrClosedPipe
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
	if s.sentEOF || s.sentClose {
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
	closed := s.sentClose
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return s.send(router.KindStreamRequest, 0, joinRequest(name, payload))
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
	tell := !s.sentClose
	s.sentClose = true
	s.gotClose = true
	s.finishLocked(true)
	s.mu.Unlock()
	s.markOpened(err)
	s.ep.forget(s)
	if tell {
		s.send(router.KindClose, router.FlagError, []byte(err.Error()))
	}
}

func (s *Stream) closeWith(cause error) error {
	s.mu.Lock()
	if s.sentClose {
		s.mu.Unlock()
		return nil
	}
	s.sentClose = true
	if s.err == nil {
		s.err = ErrClosed
	}
	done := s.gotClose
	s.finishLocked(done)
	s.mu.Unlock()
	select {
	case <-s.opened:
	default:
		// Not open yet: the peer's OpenOK will find no stream and close its end.
		s.markOpened(ErrClosed)
		s.ep.forget(s)
		return nil
	}
	if done {
		s.ep.forget(s)
	}
	if cause != nil {
		return s.send(router.KindClose, router.FlagError, []byte(cause.Error()))
	}
	return s.send(router.KindClose, 0, nil)
}

func (s *Stream) closedByPeer(err error) {
	s.mu.Lock()
	s.gotClose = true
	if err != nil && s.err == nil {
		s.err = err
	}
	reply := !s.sentClose
	s.sentClose = true
	s.finishLocked(true)
	s.mu.Unlock()
	s.ep.forget(s)
	if reply {
		s.send(router.KindClose, 0, nil)
	}
}

// fail ends the stream locally with err (disconnect, dead route); nothing is sent.
func (s *Stream) fail(err error) {
	s.mu.Lock()
	if s.err == nil || s.err == ErrClosed {
		s.err = err
	}
	s.gotClose = true
	s.sentClose = true
	s.finishLocked(true)
	s.mu.Unlock()
	s.markOpened(err)
	s.ep.forget(s)
}

// finishLocked wakes everyone and, once the stream is over, closes the request channel.
func (s *Stream) finishLocked(over bool) {
	if over && !s.reqsDone {
		s.reqsDone = true
		close(s.reqs)
	}
	s.cond.Broadcast()
}

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
