package router

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic opens every frame; a reader that meets anything else has lost framing.
const Magic uint16 = 0x6d67 // "mg"

// HeaderSize is the fixed size of a frame header in bytes.
const HeaderSize = 24

// DefaultMaxPayload bounds one frame's payload unless a Router is configured otherwise.
const DefaultMaxPayload = 1 << 20

// ID names a context: 0 is the root (the daemon); the root hands out all others.
type ID uint32

// Kind says what a frame carries. Routers forward every known kind by its header alone;
// only endpoints look at payloads.
type Kind uint8

// Frame kinds; numbers are part of the wire format (spec.md).
const (
	KindHello         Kind = 1  // link handshake, never routed
	KindRequest       Kind = 2  // one-shot call to a service handle
	KindReply         Kind = 3  // answer to a request, to its reply-to handle
	KindDead          Kind = 4  // the router could not deliver; sent back to the sender's reply-to
	KindDisconnect    Kind = 5  // context Src is gone; flooded along the tree
	KindOpen          Kind = 16 // open a stream on a service handle
	KindOpenOK        Kind = 17 // stream accepted
	KindOpenFail      Kind = 18 // stream refused
	KindData          Kind = 19 // stream bytes (stdin / stdout)
	KindExtData       Kind = 20 // stream extended bytes (stderr)
	KindWindow        Kind = 21 // receive window grows by a uint32
	KindEOF           Kind = 22 // sender will write no more
	KindClose         Kind = 23 // stream is finished
	KindStreamRequest Kind = 24 // named in-stream request (exit-status, signal, ...)
)

// FlagError marks a Reply, OpenFail or Close whose payload is an error message.
const FlagError uint8 = 1

func (k Kind) valid() bool {
	return (k >= KindHello && k <= KindDisconnect) || (k >= KindOpen && k <= KindStreamRequest)
}

// Header is the fixed part of a frame, in the spirit of Mitogen's
// (dst, src, handle, reply_to, length).
type Header struct {
	Kind    Kind
	Flags   uint8
	Dst     ID
	Src     ID
	Handle  uint32 // receiver's handle at Dst (a service or a stream/call id)
	ReplyTo uint32 // sender's handle at Src, where answers and Dead notices go
}

// Message is one frame: a header and its payload.
type Message struct {
	Header
	Payload []byte
}

// Frame errors. Each one ends the link it was read from: framing cannot be recovered.
var (
	ErrBadMagic    = errors.New("router: bad frame magic")
	ErrTooLarge    = errors.New("router: frame exceeds maximum payload")
	ErrUnknownKind = errors.New("router: unknown frame kind")
	ErrBadFlags    = errors.New("router: reserved flag bits set")
)

func (h *Header) encode(b []byte, n int) {
	binary.BigEndian.PutUint16(b[0:], Magic)
	b[2] = byte(h.Kind)
	b[3] = h.Flags
	binary.BigEndian.PutUint32(b[4:], uint32(h.Dst))
	binary.BigEndian.PutUint32(b[8:], uint32(h.Src))
	binary.BigEndian.PutUint32(b[12:], h.Handle)
	binary.BigEndian.PutUint32(b[16:], h.ReplyTo)
	binary.BigEndian.PutUint32(b[20:], uint32(n))
}

// decodeHeader validates b and returns the header and the payload length.
func decodeHeader(b []byte, max int) (Header, int, error) {
	var h Header
	if binary.BigEndian.Uint16(b[0:]) != Magic {
		return h, 0, fmt.Errorf("%w: %#04x", ErrBadMagic, binary.BigEndian.Uint16(b[0:]))
	}
	h.Kind = Kind(b[2])
	if !h.Kind.valid() {
		return h, 0, fmt.Errorf("%w: %d", ErrUnknownKind, h.Kind)
	}
	h.Flags = b[3]
	if h.Flags&^FlagError != 0 {
		return h, 0, fmt.Errorf("%w: %#02x", ErrBadFlags, h.Flags)
	}
	h.Dst = ID(binary.BigEndian.Uint32(b[4:]))
	h.Src = ID(binary.BigEndian.Uint32(b[8:]))
	h.Handle = binary.BigEndian.Uint32(b[12:])
	h.ReplyTo = binary.BigEndian.Uint32(b[16:])
	n := binary.BigEndian.Uint32(b[20:])
	if uint64(n) > uint64(max) {
		return h, 0, fmt.Errorf("%w: %d > %d", ErrTooLarge, n, max)
	}
	return h, int(n), nil
}

// ReadMessage reads one frame from r, refusing payloads larger than max.
// A frame cut short is io.ErrUnexpectedEOF; a clean end before a header is io.EOF.
func ReadMessage(r io.Reader, max int) (*Message, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	h, n, err := decodeHeader(hdr[:], max)
	if err != nil {
		return nil, err
	}
	m := &Message{Header: h}
	if n > 0 {
		m.Payload = make([]byte, n)
		if _, err := io.ReadFull(r, m.Payload); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("router: reading payload: %w", err)
		}
	}
	return m, nil
}

// WriteMessage writes m as one frame. It does not check the payload against any maximum:
// senders own that, and receivers refuse oversized frames.
func WriteMessage(w io.Writer, m *Message) error {
	var hdr [HeaderSize]byte
	m.Header.encode(hdr[:], len(m.Payload))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	if len(m.Payload) == 0 {
		return nil
	}
	_, err := w.Write(m.Payload)
	return err
}

func (m *Message) String() string {
	return fmt.Sprintf("kind=%d %d->%d handle=%d reply_to=%d len=%d", m.Kind, m.Src, m.Dst, m.Handle, m.ReplyTo, len(m.Payload))
}
