package tunnel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/mitogen-go/mitogend/router"
)

// RejectReason says why a service refused a stream, with the reason codes of SSH's
// SSH_MSG_CHANNEL_OPEN_FAILURE (RFC 4254 section 5.1), so that an SSH channel's refusal passes
// through unchanged.
type RejectReason uint32

// The reasons a service gives; other values may come from the wire and are kept as they are.
const (
	Prohibited       RejectReason = 1 // administratively prohibited: policy, permission
	ConnectFailed    RejectReason = 2 // the service could not do what the open asked
	UnknownType      RejectReason = 3 // no such service; a malformed open payload
	ResourceShortage RejectReason = 4 // the service is out of something (descriptors, slots)
)

// String is the reason in ssh's words (its reason2txt).
func (r RejectReason) String() string {
	switch r {
	case Prohibited:
		return "administratively prohibited"
	case ConnectFailed:
		return "connect failed"
	case UnknownType:
		return "unknown channel type"
	case ResourceShortage:
		return "resource shortage"
	}
	return "unknown reason"
}

// OpenError is a stream open the service rejected (an OpenFail). Its text is ssh's, as ssh
// prints it after "open failed: ": "connect failed: Connection refused".
type OpenError struct {
	Reason  RejectReason
	Message string // from the wire: print it escaped
}

func (e *OpenError) Error() string {
	if e.Message == "" {
		return e.Reason.String()
	}
	return e.Reason.String() + ": " + e.Message
}

// Is makes a refusal for want of a service match ErrNoService.
func (e *OpenError) Is(target error) bool { return target == ErrNoService && e.Reason == UnknownType }

// ErrAnswered is returned by a second Accept or Reject of one NewStream.
var ErrAnswered = errors.New("tunnel: stream open already answered")

// maxRejectMessage bounds the message of an OpenFail, sent or kept.
const maxRejectMessage = 4 << 10

// NewStream is a stream a peer asked to open, not yet answered: the service accepts it, which
// makes the Stream, or rejects it, as with x/crypto/ssh's NewChannel. The answer is the one
// frame that answers the open (OpenOK or OpenFail): no round trip is added.
type NewStream struct {
	e       *Endpoint
	peer    router.ID
	remote  uint32 // the opener's handle
	window  uint32 // the opener's advertised window
	payload []byte

	once sync.Once // the first Accept or Reject answers
	gone error     // set under Endpoint.mu when the opener's context went before the answer
}

// Peer is the context that asked.
func (n *NewStream) Peer() router.ID { return n.peer }

// Payload is what the opener sent with the open.
func (n *NewStream) Payload() []byte { return n.payload }

// Accept opens the stream, sending reply with the accept (the opener's
// Stream.AcceptPayload). The accept is queued before Accept returns, so the stream's first
// frames follow it.
func (n *NewStream) Accept(reply []byte) (*Stream, error) {
	var s *Stream
	var err error = ErrAnswered
	n.once.Do(func() {
		s, err = n.e.acceptStream(n, reply)
	})
	return s, err
}

// Reject refuses the stream with reason and message (which the opener sees in an OpenError).
func (n *NewStream) Reject(reason RejectReason, message string) error {
	err := ErrAnswered
	n.once.Do(func() {
		n.e.unpend(n)
		err = n.e.reject(n.peer, n.remote, reason, message)
	})
	return err
}

// NewStreamHandler decides on a stream a peer asked to open: it must Accept or Reject it (one
// left unanswered when the handler returns is rejected). It runs on its own goroutine.
type NewStreamHandler func(n *NewStream)

// ListenNew serves streams opened on handle with h, which accepts or rejects each.
func (e *Endpoint) ListenNew(handle uint32, h NewStreamHandler) {
	e.mu.Lock()
	e.services[handle] = h
	e.mu.Unlock()
}

// Listen serves streams opened on handle with h, accepting each at once with an empty reply.
// Services that may refuse use ListenNew.
func (e *Endpoint) Listen(handle uint32, h StreamHandler) {
	e.ListenNew(handle, AcceptAll(h))
}

// AcceptAll is the NewStreamHandler that accepts every open and hands the stream to h.
func AcceptAll(h StreamHandler) NewStreamHandler {
	return func(n *NewStream) {
		s, err := n.Accept(nil)
		if err != nil {
			return
		}
		h(s, n.payload)
	}
}

func (e *Endpoint) acceptStream(n *NewStream, reply []byte) (*Stream, error) {
	e.mu.Lock()
	delete(e.pending, n)
	if n.gone != nil {
		// The opener's context is gone: a stream made now would wait for it forever.
		e.mu.Unlock()
		return nil, n.gone
	}
	s := newStream(e, e.allocLocked(), n.peer)
	s.remote = n.remote
	s.setSendWindow(n.window)
	s.state = stateOpen
	close(s.opened)
	e.streams[s.id] = s
	e.mu.Unlock()
	msg := make([]byte, 4+len(reply))
	binary.BigEndian.PutUint32(msg, e.window)
	copy(msg[4:], reply)
	if err := e.send(router.KindOpenOK, 0, n.peer, n.remote, s.id, msg); err != nil {
		s.fail(err)
		return nil, err
	}
	return s, nil
}

func (e *Endpoint) reject(dst router.ID, remote uint32, reason RejectReason, message string) error {
	if len(message) > maxRejectMessage {
		message = message[:maxRejectMessage]
	}
	msg := make([]byte, 4+len(message))
	binary.BigEndian.PutUint32(msg, uint32(reason))
	copy(msg[4:], message)
	return e.send(router.KindOpenFail, router.FlagError, dst, remote, 0, msg)
}

// parseOpenFail reads an OpenFail payload: a 4-byte reason, then the message.
func parseOpenFail(p []byte) error {
	if len(p) < 4 {
		return fmt.Errorf("tunnel: malformed open failure")
	}
	msg := p[4:]
	if len(msg) > maxRejectMessage {
		msg = msg[:maxRejectMessage]
	}
	return &OpenError{Reason: RejectReason(binary.BigEndian.Uint32(p)), Message: string(msg)}
}

// serveOpen runs h on the open in m, off the reader goroutine; an open h leaves unanswered is
// rejected when h returns, so that the opener never waits on a handler that forgot it.
func (e *Endpoint) serveOpen(m *router.Message, h NewStreamHandler) {
	n := &NewStream{e: e, peer: m.Src, remote: m.ReplyTo, window: binary.BigEndian.Uint32(m.Payload), payload: m.Payload[4:]}
	// Registered here, on the reader goroutine, so that a Disconnect of the opener, which
	// follows the open on the same path, finds it (failPeers).
	e.mu.Lock()
	e.pending[n] = struct{}{}
	e.mu.Unlock()
	go func() {
		defer n.Reject(ConnectFailed, "tunnel: the service did not answer the open")
		h(n)
	}()
}

func (e *Endpoint) unpend(n *NewStream) {
	e.mu.Lock()
	delete(e.pending, n)
	e.mu.Unlock()
}
