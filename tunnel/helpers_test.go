package tunnel

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/router"
)

// testTimeout bounds every wait in these tests; reaching it is a failure, never a pass.
const testTimeout = 20 * time.Second

// Service handles the tests listen on.
const (
	svcEcho    uint32 = 100 // copies stdin to stdout until EOF
	svcSplit   uint32 = 101 // writes generated stdout and stderr; payload: sizes and seed
	svcSink    uint32 = 102 // discards stdin, then answers the byte count
	svcTest    uint32 = 103 // per-test behaviour
	callEcho   uint32 = 200
	callFail   uint32 = 201
	callBlock  uint32 = 202
	noSuchSvc  uint32 = 999
	rawHandle  uint32 = 5000 // the raw peer's stream handle
	rawCallTag uint32 = 6000 // the raw peer's call handle for markers
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// testLogf logs through t while the test runs and drops lines after it: endpoint goroutines
// (a call handler's late reply, say) may outlive the test by a moment.
func testLogf(t testing.TB) router.Logf {
	var mu sync.Mutex
	done := false
	t.Cleanup(func() { // registered first, so it runs after every other cleanup
		mu.Lock()
		done = true
		mu.Unlock()
	})
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Logf(format, args...)
		}
	}
}

func socketPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	conn := func(fd int, name string) net.Conn {
		f := os.NewFile(uintptr(fd), name)
		defer f.Close() // FileConn dups the descriptor
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatalf("FileConn: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return conn(fds[0], "sp0"), conn(fds[1], "sp1")
}

// events is signalled after every frame a tapped handler has dealt with. Waiters re-check
// their condition on each signal, so one pending signal is enough and none is lost.
type events chan struct{}

func (ev events) signal() {
	select {
	case ev <- struct{}{}:
	default:
	}
}

// waitUntil blocks until cond holds, re-checking it after each handled frame. cond must only
// change as a result of a frame being handled.
func waitUntil(ctx context.Context, t testing.TB, ev events, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ev:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

// tap is a router.Handler that hands frames to a Handler, then runs an optional hook and
// signals ev. It lets tests observe the endpoint's state after each frame.
type tap struct {
	next router.Handler
	hook func(m *router.Message)
	ev   events
}

func (h *tap) HandleMessage(m *router.Message) {
	h.next.HandleMessage(m)
	if h.hook != nil {
		h.hook(m)
	}
	h.ev.signal()
}

type pairOpts struct {
	maxPayload int
	srvHook    func(srv *Endpoint, m *router.Message)
}

// pair is a server context (0, the root) and a client context (1) joined by a socketpair,
// wired the way the daemon and fakessh wire them.
type pair struct {
	srv, cli         *Endpoint
	srvR, cliR       *router.Router
	srvLink, cliLink *router.Link // the root's link to the client; the client's link to the root
	ev               events
}

func newPair(t testing.TB, o pairOpts) *pair {
	t.Helper()
	logf := testLogf(t)
	p := &pair{ev: make(events, 1)}
	p.srv, p.cli = NewEndpoint(logf), NewEndpoint(logf)
	srvTap := &tap{next: p.srv, ev: p.ev}
	if o.srvHook != nil {
		srvTap.hook = func(m *router.Message) { o.srvHook(p.srv, m) }
	}
	p.srvR = router.New(router.Config{ID: 0, Handler: srvTap, MaxPayload: o.maxPayload})
	p.cliR = router.New(router.Config{ID: 1, Handler: &tap{next: p.cli, ev: p.ev}, MaxPayload: o.maxPayload})
	p.srv.Attach(p.srvR)
	p.cli.Attach(p.cliR)
	a, b := socketPair(t)
	p.srvLink = p.srvR.AddLink(a, router.LinkConfig{Name: "client", Trusted: true, Peer: 1})
	p.cliLink = p.cliR.AddLink(b, router.LinkConfig{Name: "daemon", Parent: true, Trusted: true, Peer: 0})
	t.Cleanup(func() {
		p.cliR.Close()
		p.srvR.Close()
	})
	p.listen(svcEcho, func(s *Stream, _ []byte) {
		if _, err := io.Copy(s, s); err != nil {
			return // the client side reports what went wrong
		}
		s.CloseWrite()
	})
	p.listen(svcSink, func(s *Stream, _ []byte) {
		n, err := io.Copy(io.Discard, s)
		if err != nil {
			return
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(n))
		s.Write(b[:])
		s.CloseWrite()
	})
	p.listen(svcSplit, func(s *Stream, payload []byte) {
		out, errb := splitData(payload)
		writeInterleaved(s, out, errb)
		s.CloseWrite()
	})
	p.srv.HandleCall(callEcho, func(_ context.Context, src router.ID, b []byte) ([]byte, error) {
		return append([]byte{byte(src)}, b...), nil
	})
	return p
}

// listen serves h on handle, closing the stream when h returns. Services never touch t:
// they may outlive the test by the moment it takes the closed routers to fail their streams.
func (p *pair) listen(handle uint32, h StreamHandler) {
	p.srv.Listen(handle, func(s *Stream, payload []byte) {
		defer s.Close()
		h(s, payload)
	})
}

// bothIdle reports whether neither side holds a stream.
func (p *pair) bothIdle() bool { return p.srv.Streams() == 0 && p.cli.Streams() == 0 }

// randBytes returns n reproducible pseudo-random bytes.
func randBytes(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

// splitRequestPayload asks svcSplit for out bytes of stdout and errN of stderr from seed.
func splitRequestPayload(out, errN int, seed uint64) []byte {
	b := make([]byte, 24)
	binary.BigEndian.PutUint64(b[0:], uint64(out))
	binary.BigEndian.PutUint64(b[8:], uint64(errN))
	binary.BigEndian.PutUint64(b[16:], seed)
	return b
}

func splitData(payload []byte) (out, errb []byte) {
	n := int(binary.BigEndian.Uint64(payload[0:]))
	m := int(binary.BigEndian.Uint64(payload[8:]))
	seed := binary.BigEndian.Uint64(payload[16:])
	return randBytes(seed, n), randBytes(seed+1, m)
}

// writeInterleaved writes out and errb in alternating, unevenly sized pieces.
func writeInterleaved(s *Stream, out, errb []byte) error {
	sizes := []int{1, 5000, 70000, 333, 64 << 10, 200000}
	for i := 0; len(out) > 0 || len(errb) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(out))
		if _, err := s.Write(out[:n]); err != nil {
			return err
		}
		out = out[n:]
		n = min(sizes[(i+3)%len(sizes)], len(errb))
		if _, err := s.StderrWriter().Write(errb[:n]); err != nil {
			return err
		}
		errb = errb[n:]
	}
	return nil
}

// echoTransfer pushes size random bytes through an echo stream and checks they come back.
func echoTransfer(ctx context.Context, p *pair, size int, seed uint64) error {
	s, err := p.cli.Open(ctx, 0, svcEcho, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	data := randBytes(seed, size)
	werr := make(chan error, 1)
	go func() {
		_, err := s.Write(data)
		if err == nil {
			err = s.CloseWrite()
		}
		werr <- err
	}()
	h := sha256.New()
	n, err := io.Copy(h, s)
	if err != nil {
		return err
	}
	if err := <-werr; err != nil {
		return err
	}
	if n != int64(size) {
		return fmt.Errorf("echoed %d bytes, want %d", n, size)
	}
	if got, want := h.Sum(nil), sha256.Sum256(data); string(got) != string(want[:]) {
		return fmt.Errorf("echo of %d bytes: sha256 differs", size)
	}
	return nil
}

// buffered is the number of received bytes s holds that its reader has not taken.
func buffered(s *Stream) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range []*chunks{&s.stdout, &s.stderr} {
		for _, b := range q.bufs {
			n += len(b)
		}
	}
	return n
}

// recorder is a raw router.Handler for a test acting as a hand-written peer.
type recorder struct{ ch chan *router.Message }

func (r *recorder) HandleMessage(m *router.Message) {
	select {
	case r.ch <- m:
	default:
		panic("recorder: test let frames pile up")
	}
}

func (r *recorder) next(ctx context.Context, t testing.TB) *router.Message {
	t.Helper()
	select {
	case m := <-r.ch:
		return m
	case <-ctx.Done():
		t.Fatalf("no frame arrived: %v", ctx.Err())
		return nil
	}
}

// rawPeer is an Endpoint at context 0 talking to a hand-driven router at context 1, so
// tests can put arbitrary frames on the wire.
type rawPeer struct {
	srv  *Endpoint
	srvR *router.Router
	raw  *router.Router
	rec  *recorder
	ev   events
}

func newRawPeer(t testing.TB, maxPayload int) *rawPeer {
	t.Helper()
	rp := &rawPeer{srv: NewEndpoint(testLogf(t)), rec: &recorder{ch: make(chan *router.Message, 256)}, ev: make(events, 1)}
	rp.srvR = router.New(router.Config{ID: 0, Handler: &tap{next: rp.srv, ev: rp.ev}, MaxPayload: maxPayload})
	rp.srv.Attach(rp.srvR)
	rp.raw = router.New(router.Config{ID: 1, Handler: rp.rec, MaxPayload: maxPayload})
	a, b := socketPair(t)
	rp.srvR.AddLink(a, router.LinkConfig{Name: "raw", Trusted: true, Peer: 1})
	rp.raw.AddLink(b, router.LinkConfig{Name: "parent", Parent: true, Trusted: true, Peer: 0})
	rp.srv.HandleCall(callEcho, func(_ context.Context, _ router.ID, b []byte) ([]byte, error) { return b, nil })
	t.Cleanup(func() {
		rp.raw.Close()
		rp.srvR.Close()
	})
	return rp
}

func (rp *rawPeer) send(t testing.TB, kind router.Kind, flags uint8, handle, replyTo uint32, payload []byte) {
	t.Helper()
	err := rp.raw.Send(&router.Message{Header: router.Header{Kind: kind, Flags: flags, Dst: 0, Src: 1, Handle: handle, ReplyTo: replyTo}, Payload: payload})
	if err != nil {
		t.Fatalf("raw send kind %d: %v", kind, err)
	}
}

// open opens svc from the raw side with the given window and returns the endpoint's handle.
func (rp *rawPeer) open(ctx context.Context, t testing.TB, svc, window uint32) uint32 {
	t.Helper()
	var w [4]byte
	binary.BigEndian.PutUint32(w[:], window)
	rp.send(t, router.KindOpen, 0, svc, rawHandle, w[:])
	m := rp.rec.next(ctx, t)
	if m.Kind != router.KindOpenOK || m.Handle != rawHandle || m.Src != 0 || m.Dst != 1 || len(m.Payload) != 4 {
		t.Fatalf("answer to Open = %v %q, want OpenOK to handle %d with a 4-byte window", m, m.Payload, rawHandle)
	}
	if got := binary.BigEndian.Uint32(m.Payload); got != DefaultWindow {
		t.Errorf("OpenOK window = %d, want %d", got, DefaultWindow)
	}
	if m.ReplyTo < FirstDynamicHandle {
		t.Errorf("stream handle %d is in the service range", m.ReplyTo)
	}
	return m.ReplyTo
}

// sync sends a call and collects every frame that arrives before its reply. Whatever the
// endpoint sent while handling the frames before the call is therefore in the result.
func (rp *rawPeer) sync(ctx context.Context, t testing.TB) []*router.Message {
	t.Helper()
	rp.send(t, router.KindRequest, 0, callEcho, rawCallTag, []byte("sync"))
	var before []*router.Message
	for {
		m := rp.rec.next(ctx, t)
		if m.Kind == router.KindReply && m.Handle == rawCallTag {
			return before
		}
		before = append(before, m)
	}
}

func errorsIsDisconnected(err error) bool { return errors.Is(err, ErrDisconnected) }

func runtimeGosched() { runtime.Gosched() }
