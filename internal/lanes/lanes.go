// Package lanes stripes one byte stream each way over several ordered byte streams, the lanes,
// so that a command's bulk data is not bound by one SSH channel's window. sshd grants each
// channel 2 MiB at a time: at 50 ms round trip that is 42 MB/s for one channel, however fast the
// link, and ssh's ControlMaster is bound the same way. Over n channels the bound is n times as
// high.
//
// It is not a multiplexer and not a transport: a set of lanes carries one stream each way, for
// one command, and is closed after it. Each lane must deliver its bytes in order (an SSH
// channel, a Unix socket). Who opens the lanes and how their ends find each other is the
// caller's (the daemon opens them as direct-streamlocal channels to the agent's socket).
//
// Wire format (a second implementation can follow it):
//
//   - Each lane starts with a hello from the side that opened it, HelloLen bytes: the 8 bytes
//     "mitolan1", a 16-byte set identifier chosen at random by the opener, the lane's index and
//     the set's lane count, one byte each (1 <= count <= MaxLanes, index < count).
//   - Once every lane of the set has arrived, the side that accepts them writes one byte, Ack
//     (0x01), on lane 0: the opener uses no set it has not seen acknowledged.
//   - After the hello (and on lane 0 the ack) each direction of a lane carries chunks: a 4-byte
//     big-endian length n, then n bytes of the stream. 1 <= n <= MaxChunk; n = 0 ends the
//     stream in that direction. A length above MaxChunk is a protocol error.
//   - Chunk k of a direction (k from 0, the end chunk included) travels on lane k mod count.
//     The reader takes chunks in the same order, so no chunk needs a sequence number and no
//     reader buffers more than one chunk's header: a lane whose turn has not come waits in its
//     own channel's window.
//   - A lane that ends before the end chunk has reached its reader truncates the stream: the
//     reader fails (io.ErrUnexpectedEOF) instead of returning a clean EOF.
package lanes

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	// MaxChunk bounds one chunk: a reader holds no more than a header of it at a time, but a
	// length above this is a peer's error.
	MaxChunk = 256 << 10
	// MaxLanes bounds a set.
	MaxLanes = 16
	// HelloLen is the size of a lane's hello.
	HelloLen = 8 + 16 + 2
	// Ack is the byte that acknowledges a complete set, on its lane 0.
	Ack = 0x01
)

const magic = "mitolan1"

// ErrChunkTooLarge is returned by Reader for a chunk length above MaxChunk.
var ErrChunkTooLarge = errors.New("lanes: chunk exceeds the maximum")

// SetID names one set of lanes.
type SetID [16]byte

// NewSetID returns a random set identifier.
func NewSetID() SetID {
	var id SetID
	rand.Read(id[:]) // never fails (crypto/rand)
	return id
}

// Hello is a lane's first message.
type Hello struct {
	Set          SetID
	Index, Count int
}

// Marshal encodes h, whose Count is 1 to MaxLanes and Index below it.
func (h Hello) Marshal() []byte {
	b := make([]byte, 0, HelloLen)
	b = append(b, magic...)
	b = append(b, h.Set[:]...)
	return append(b, byte(h.Index), byte(h.Count))
}

// ReadHello reads and checks a lane's hello.
func ReadHello(r io.Reader) (Hello, error) {
	var b [HelloLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Hello{}, fmt.Errorf("lanes: hello: %w", err)
	}
	if string(b[:8]) != magic {
		return Hello{}, errors.New("lanes: hello: not a lane")
	}
	h := Hello{Index: int(b[24]), Count: int(b[25])}
	copy(h.Set[:], b[8:24])
	if h.Count < 1 || h.Count > MaxLanes || h.Index >= h.Count {
		return Hello{}, fmt.Errorf("lanes: hello: lane %d of %d", h.Index, h.Count)
	}
	return h, nil
}

// Writer writes one stream across lanes. It is not safe for concurrent use.
type Writer struct {
	lanes []io.Writer
	next  int
	buf   []byte // a chunk's header and data, written in one Write: on an SSH channel a header alone would be a packet of its own
	err   error  // sticky: a lane failed, or the end was sent
}

var errEnded = errors.New("lanes: write after end")

// NewWriter writes across lanes, which must not be empty.
func NewWriter(lanes []io.Writer) *Writer {
	return &Writer{lanes: lanes}
}

func (w *Writer) buffer() []byte {
	if w.buf == nil {
		w.buf = make([]byte, 4+MaxChunk)
	}
	return w.buf
}

// Write sends p as chunks of at most MaxChunk bytes.
func (w *Writer) Write(p []byte) (int, error) {
	var done int
	if w.err != nil {
		return 0, w.err
	}
	for len(p) > 0 {
		n := copy(w.buffer()[4:], p)
		if err := w.send(n); err != nil {
			return done, err
		}
		done += n
		p = p[n:]
	}
	return done, nil
}

// ReadFrom sends what r gives, each read a chunk, read straight into the chunk's buffer.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	buf := w.buffer()
	for {
		n, err := r.Read(buf[4:])
		if n > 0 {
			if werr := w.send(n); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// send writes the n bytes at w.buf[4:] as one chunk on the next lane. A failed lane fails
// every later send: the stream has a hole.
func (w *Writer) send(n int) error {
	if w.err != nil {
		return w.err
	}
	binary.BigEndian.PutUint32(w.buf, uint32(n))
	lane := w.next
	w.next = (w.next + 1) % len(w.lanes)
	if _, err := w.lanes[lane].Write(w.buf[:4+n]); err != nil {
		w.err = fmt.Errorf("lanes: lane %d: %w", lane, err)
		return w.err
	}
	return nil
}

// End sends the end chunk; the reader then sees EOF. Later writes fail; a second End does
// nothing.
func (w *Writer) End() error {
	if w.err == errEnded {
		return nil
	}
	if w.err != nil {
		return w.err
	}
	var hdr [4]byte
	lane := w.next
	w.err = errEnded
	if _, err := w.lanes[lane].Write(hdr[:]); err != nil {
		return fmt.Errorf("lanes: lane %d: %w", lane, err)
	}
	return nil
}

// Reader reads one stream from lanes. It is not safe for concurrent use.
type Reader struct {
	lanes []io.Reader
	next  int       // the lane of the next chunk
	cur   io.Reader // the lane of the chunk being read
	left  int       // bytes of that chunk not yet read
	err   error     // sticky: io.EOF after the end chunk, or the failure
	hdr   [4]byte
}

// NewReader reads across lanes, which must not be empty.
func NewReader(lanes []io.Reader) *Reader {
	return &Reader{lanes: lanes}
}

// Read reads from the current chunk, at most what is left of it.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for r.left == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.err = r.header()
	}
	if len(p) > r.left {
		p = p[:r.left]
	}
	n, err := r.cur.Read(p)
	r.left -= n
	if err != nil && r.left > 0 {
		r.err = fmt.Errorf("lanes: lane %d: %w", r.lane(), unexpected(err))
		r.left = 0
		return n, r.err
	}
	return n, nil
}

// header reads the next chunk's header; io.EOF for the end chunk.
func (r *Reader) header() error {
	lane := r.next
	if _, err := io.ReadFull(r.lanes[lane], r.hdr[:]); err != nil {
		return fmt.Errorf("lanes: lane %d: %w", lane, unexpected(err))
	}
	n := binary.BigEndian.Uint32(r.hdr[:])
	if n > MaxChunk {
		return fmt.Errorf("%w: %d bytes on lane %d", ErrChunkTooLarge, n, lane)
	}
	r.next = (lane + 1) % len(r.lanes)
	if n == 0 {
		return io.EOF
	}
	r.cur, r.left = r.lanes[lane], int(n)
	return nil
}

// Err is what ended the stream other than its end chunk: a lane that failed or ended early, a
// chunk too large. nil while the stream goes on and after a clean end.
func (r *Reader) Err() error {
	if r.err == io.EOF {
		return nil
	}
	return r.err
}

// lane is the index of the lane being read (the one before next).
func (r *Reader) lane() int { return (r.next + len(r.lanes) - 1) % len(r.lanes) }

// unexpected turns a lane's EOF before the end chunk into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
