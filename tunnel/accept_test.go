package tunnel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/router"
)

// Services that accept or reject (router/spec.md 5.1), seen from the opener.

func TestRejectCarriesReasonAndMessage(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	p.srv.ListenNew(svcTest, func(n *NewStream) { n.Reject(ConnectFailed, "Connection refused") })
	_, err := p.cli.Open(ctx, 0, svcTest, nil)
	var oe *OpenError
	if !errors.As(err, &oe) || oe.Reason != ConnectFailed || oe.Message != "Connection refused" {
		t.Fatalf("Open = %v, want an OpenError (connect failed, %q)", err, "Connection refused")
	}
	if got, want := err.Error(), "connect failed: Connection refused"; got != want {
		t.Errorf("error text %q, want ssh's %q", got, want)
	}
	if errors.Is(err, ErrNoService) {
		t.Error("a refused connect matches ErrNoService")
	}
	waitUntil(ctx, t, p.ev, "no streams on either side", p.bothIdle)
}

func TestAcceptPayloadReachesOpener(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	p.srv.ListenNew(svcTest, func(n *NewStream) {
		s, err := n.Accept(append([]byte("bound "), n.Payload()...))
		if err != nil {
			return
		}
		if _, err := n.Accept(nil); !errors.Is(err, ErrAnswered) {
			s.Write([]byte("a second Accept: " + errString(err)))
		}
		if err := n.Reject(Prohibited, "late"); !errors.Is(err, ErrAnswered) {
			s.Write([]byte("a Reject after Accept: " + errString(err)))
		}
		s.Close()
	})
	s, err := p.cli.Open(ctx, 0, svcTest, []byte("4242"))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.AcceptPayload()); got != "bound 4242" {
		t.Errorf("AcceptPayload = %q, want %q", got, "bound 4242")
	}
	if b, err := io.ReadAll(s); err != nil || len(b) != 0 {
		t.Errorf("stream carried %q, %v; want nothing (second answers refused)", b, err)
	}
	s.Close()
	select {
	case <-s.Context().Done():
	case <-ctx.Done():
		t.Fatal("the stream's context did not end with it")
	}
	if cause := context.Cause(s.Context()); !errors.Is(cause, ErrClosed) {
		t.Errorf("context cause %v, want ErrClosed", cause)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// A handler that returns without answering must not leave the opener waiting.
func TestUnansweredOpenIsRejected(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	p.srv.ListenNew(svcTest, func(*NewStream) {})
	_, err := p.cli.Open(ctx, 0, svcTest, nil)
	var oe *OpenError
	if !errors.As(err, &oe) || oe.Reason != ConnectFailed {
		t.Fatalf("Open = %v, want a rejection (connect failed)", err)
	}
}

// An open still being decided when its opener's context goes must not become a stream that
// waits for that context forever.
func TestOpenerGoneBeforeAccept(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	arrived, release := make(chan *NewStream, 1), make(chan struct{})
	accepted := make(chan error, 1)
	p.srv.ListenNew(svcTest, func(n *NewStream) {
		arrived <- n
		<-release
		s, err := n.Accept(nil)
		if s != nil {
			s.Close()
		}
		accepted <- err
	})
	go p.cli.Open(ctx, 0, svcTest, nil)
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Fatal("the open never reached the service")
	}
	p.cliLink.Close()
	waitUntil(ctx, t, p.ev, "the server to see the client go", func() bool { return !p.srvR.Reachable(1) })
	close(release)
	select {
	case err := <-accepted:
		if !errors.Is(err, ErrDisconnected) {
			t.Errorf("Accept after the opener left = %v, want ErrDisconnected", err)
		}
	case <-ctx.Done():
		t.Fatal("Accept never returned")
	}
	if n := p.srv.Streams(); n != 0 {
		t.Errorf("the server holds %d streams for a departed opener", n)
	}
}

// Call handlers' context ends when the caller disconnects.
func TestCallContextEndsWithCaller(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	started, cause := make(chan struct{}), make(chan error, 1)
	p.srv.HandleCall(callBlock, func(hctx context.Context, _ router.ID, _ []byte) ([]byte, error) {
		close(started)
		select {
		case <-hctx.Done():
			cause <- context.Cause(hctx)
		case <-ctx.Done():
			cause <- errors.New("never cancelled")
		}
		return nil, nil
	})
	go p.cli.Call(ctx, 0, callBlock, nil)
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the call never started")
	}
	p.cliLink.Close()
	var de *DisconnectError
	if err := <-cause; !errors.As(err, &de) || de.Context != 1 {
		t.Errorf("handler context ended with %v, want the caller's DisconnectError", err)
	}
}

func TestReadDeadline(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	s, err := p.cli.Open(ctx, 0, svcEcho, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := s.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	s.SetReadDeadline(time.Time{}) // the stream is still good
	if _, err := s.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	s.CloseWrite()
	if b, err := io.ReadAll(s); err != nil || string(b) != "after" {
		t.Errorf("echo after a deadline = %q, %v", b, err)
	}
}

// A hostile acceptor, written from the spec: the endpoint opens a stream to the raw peer, which
// answers out of turn.

// openToRaw starts an Open from the endpoint to the raw peer and returns the Open frame and the
// result channel.
func openToRaw(ctx context.Context, t *testing.T, rp *rawPeer) (*router.Message, chan openResult) {
	t.Helper()
	res := make(chan openResult, 1)
	go func() {
		s, err := rp.srv.Open(ctx, 1, svcTest, []byte("hello"))
		res <- openResult{s, err}
	}()
	m := rp.rec.next(ctx, t)
	if m.Kind != router.KindOpen || m.Handle != svcTest || len(m.Payload) < 4 || string(m.Payload[4:]) != "hello" {
		t.Fatalf("frame %v %q, want the Open", m, m.Payload)
	}
	return m, res
}

type openResult struct {
	s   *Stream
	err error
}

func window(w uint32) []byte { return binary.BigEndian.AppendUint32(nil, w) }

func awaitOpen(ctx context.Context, t *testing.T, res chan openResult) openResult {
	t.Helper()
	select {
	case r := <-res:
		return r
	case <-ctx.Done():
		t.Fatal("Open never returned")
		return openResult{}
	}
}

func TestHostileAcceptor(t *testing.T) {
	t.Run("data before accept", func(t *testing.T) {
		ctx := testCtx(t)
		rp := newRawPeer(t, 0)
		open, res := openToRaw(ctx, t, rp)
		rp.send(t, router.KindData, 0, open.ReplyTo, rawHandle, []byte("early"))
		if r := awaitOpen(ctx, t, res); r.err == nil {
			t.Fatal("Open succeeded after data came before the accept")
		}
		if extra := rp.sync(ctx, t); len(extra) != 0 {
			t.Errorf("the opener answered the violation with %v; the spec says nothing is sent", extra)
		}
		// The accept that follows finds no stream and is closed (spec 5.1).
		rp.send(t, router.KindOpenOK, 0, open.ReplyTo, rawHandle, window(DefaultWindow))
		if m := rp.rec.next(ctx, t); m.Kind != router.KindClose || m.Handle != rawHandle {
			t.Errorf("answer to the late accept = %v, want Close to handle %d", m, rawHandle)
		}
		if n := rp.srv.Streams(); n != 0 {
			t.Errorf("%d streams left", n)
		}
	})
	t.Run("accept twice", func(t *testing.T) {
		ctx := testCtx(t)
		rp := newRawPeer(t, 0)
		open, res := openToRaw(ctx, t, rp)
		rp.send(t, router.KindOpenOK, 0, open.ReplyTo, rawHandle, window(DefaultWindow))
		r := awaitOpen(ctx, t, res)
		if r.err != nil {
			t.Fatal(r.err)
		}
		rp.send(t, router.KindOpenOK, 0, open.ReplyTo, rawHandle+1, window(DefaultWindow))
		if m := rp.rec.next(ctx, t); m.Kind != router.KindClose || m.Flags&router.FlagError == 0 || m.Handle != rawHandle {
			t.Errorf("answer to a second accept = %v, want a reset (Close with FlagError) of handle %d", m, rawHandle)
		}
		if _, err := r.s.Read(make([]byte, 1)); err == nil || err == io.EOF {
			t.Errorf("Read on the reset stream = %v, want the protocol error", err)
		}
	})
	t.Run("reject after accept", func(t *testing.T) {
		ctx := testCtx(t)
		rp := newRawPeer(t, 0)
		open, res := openToRaw(ctx, t, rp)
		rp.send(t, router.KindOpenOK, 0, open.ReplyTo, rawHandle, window(DefaultWindow))
		r := awaitOpen(ctx, t, res)
		if r.err != nil {
			t.Fatal(r.err)
		}
		rp.send(t, router.KindOpenFail, router.FlagError, open.ReplyTo, 0, append(window(uint32(Prohibited)), "no"...))
		if m := rp.rec.next(ctx, t); m.Kind != router.KindClose || m.Flags&router.FlagError == 0 {
			t.Errorf("answer to a rejection of an open stream = %v, want a reset", m)
		}
		select {
		case <-r.s.Context().Done():
		case <-ctx.Done():
			t.Fatal("the reset stream's context is not done")
		}
	})
	t.Run("malformed rejection", func(t *testing.T) {
		ctx := testCtx(t)
		rp := newRawPeer(t, 0)
		open, res := openToRaw(ctx, t, rp)
		rp.send(t, router.KindOpenFail, router.FlagError, open.ReplyTo, 0, []byte("ab"))
		r := awaitOpen(ctx, t, res)
		var oe *OpenError
		if r.err == nil || errors.As(r.err, &oe) {
			t.Errorf("Open = %v, want a malformed-rejection error, not an OpenError", r.err)
		}
	})
	t.Run("unknown reason kept", func(t *testing.T) {
		ctx := testCtx(t)
		rp := newRawPeer(t, 0)
		open, res := openToRaw(ctx, t, rp)
		rp.send(t, router.KindOpenFail, router.FlagError, open.ReplyTo, 0, append(window(77), "why"...))
		r := awaitOpen(ctx, t, res)
		var oe *OpenError
		if !errors.As(r.err, &oe) || oe.Reason != 77 || r.err.Error() != "unknown reason: why" {
			t.Errorf("Open = %v, want an OpenError with reason 77 (%q)", r.err, "unknown reason: why")
		}
	})
	t.Run("accept for a stream never offered", func(t *testing.T) {
		ctx := testCtx(t)
		rp := newRawPeer(t, 0)
		rp.send(t, router.KindOpenOK, 0, FirstDynamicHandle+7, rawHandle, window(DefaultWindow))
		if m := rp.rec.next(ctx, t); m.Kind != router.KindClose || m.Handle != rawHandle || m.Flags != 0 {
			t.Errorf("answer = %v, want Close (flags 0) to handle %d", m, rawHandle)
		}
		if n := rp.srv.Streams(); n != 0 {
			t.Errorf("%d streams made by an unsolicited accept", n)
		}
	})
	t.Run("accept sent to the acceptor's own stream", func(t *testing.T) {
		ctx := testCtx(t)
		rp := newRawPeer(t, 0)
		rp.srv.Listen(svcTest, func(s *Stream, _ []byte) { io.Copy(io.Discard, s); s.Close() })
		h := rp.open(ctx, t, svcTest, DefaultWindow)
		rp.send(t, router.KindOpenOK, 0, h, rawHandle, window(DefaultWindow))
		m := rp.rec.next(ctx, t)
		if m.Kind != router.KindClose || m.Flags&router.FlagError == 0 || !bytes.Contains(m.Payload, []byte("open")) {
			t.Errorf("answer = %v %q, want a reset naming the stray accept", m, m.Payload)
		}
	})
}

func TestWriteDeadline(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	release := make(chan struct{})
	p.listen(svcTest, func(s *Stream, _ []byte) { <-release }) // reads nothing
	defer close(release)
	s, err := p.cli.Open(ctx, 0, svcTest, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := s.Write(make([]byte, DefaultWindow+1))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n != DefaultWindow {
		t.Errorf("Write past the window = %d, %v; want the window (%d) and os.ErrDeadlineExceeded", n, err, DefaultWindow)
	}
}

// CloseWhenDone: the stream ends with its context, and the peer is told why.
func TestCloseWhenDone(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	got := make(chan error, 1)
	p.listen(svcTest, func(s *Stream, _ []byte) {
		_, err := io.ReadAll(s)
		got <- err
	})
	s, err := p.cli.Open(ctx, 0, svcTest, nil)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancelCause(ctx)
	s.CloseWhenDone(sctx)
	cancel(errors.New("caller went away"))
	select {
	case err := <-got:
		if err == nil || err.Error() != "caller went away" {
			t.Errorf("the peer's read ended with %v, want the cause", err)
		}
	case <-ctx.Done():
		t.Fatal("the stream outlived its context")
	}
	waitUntil(ctx, t, p.ev, "both sides to forget the stream", p.bothIdle)
}
