package tunnel

import (
	"context"
	"encoding/binary"
	"io"
	"testing"

	"github.com/mitogen-go/mitogend/router"
)

// tree4 is the daemon's shape with two targets: a root (0), a trusted client (1), and two
// untrusted targets, 2 (the attacker) and 3 (the one the client talks to).
type tree4 struct {
	root, client, evil, good *Endpoint
	evilR                    *router.Router
}

func newTree4(t testing.TB) *tree4 {
	logf := testLogf(t)
	mk := func(id router.ID) (*Endpoint, *router.Router) {
		ep := NewEndpoint(logf)
		r := router.New(router.Config{ID: id, Handler: ep, Logf: logf})
		ep.Attach(r)
		t.Cleanup(r.Close)
		return ep, r
	}
	tr := &tree4{}
	var rootR, clientR, goodR *router.Router
	tr.root, rootR = mk(0)
	tr.client, clientR = mk(1)
	tr.evil, tr.evilR = mk(2)
	tr.good, goodR = mk(3)
	join := func(child *router.Router, id router.ID, trusted bool) {
		a, b := socketPair(t)
		rootR.AddLink(a, router.LinkConfig{Name: "child", Trusted: trusted, Peer: id})
		child.AddLink(b, router.LinkConfig{Name: "parent", Parent: true, Trusted: true, Peer: 0})
	}
	join(clientR, 1, true)
	join(tr.evilR, 2, false)
	join(goodR, 3, false)
	// The client answers calls, so the attacker can learn when its forgeries have all arrived:
	// frames from one context along one path arrive in order.
	tr.client.HandleCall(callEcho, func(_ context.Context, _ router.ID, b []byte) ([]byte, error) { return b, nil })
	return tr
}

// forge sends, from the attacker, one frame of kind to every handle an endpoint could have
// allocated so far (handles are sequential, so guessing costs nothing), then waits until the
// client has handled them all.
func (tr *tree4) forge(ctx context.Context, t *testing.T, kind router.Kind, payload []byte) {
	t.Helper()
	for h := uint32(FirstDynamicHandle); h < FirstDynamicHandle+64; h++ {
		err := tr.evilR.Send(&router.Message{Header: router.Header{Kind: kind, Dst: 1, Src: 2, Handle: h}, Payload: payload})
		if err != nil {
			t.Fatalf("attacker send: %v", err)
		}
	}
	if _, err := tr.evil.Call(ctx, 1, callEcho, []byte("sync")); err != nil {
		t.Fatalf("attacker sync call: %v", err)
	}
}

// TestForgedReplyIsDropped: a target that answers another target's pending call (a Reply naming
// the call's handle) must not be believed; the call takes the real answer.
func TestForgedReplyIsDropped(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree4(t)
	release := make(chan struct{})
	tr.good.HandleCall(callBlock, func(context.Context, router.ID, []byte) ([]byte, error) {
		<-release
		return []byte("from the real target"), nil
	})
	got := make(chan string, 1)
	go func() {
		b, err := tr.client.Call(ctx, 3, callBlock, nil)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(b)
	}()
	waitPending(ctx, t, tr.client)
	tr.forge(ctx, t, router.KindReply, []byte(`{"context":2}`))
	tr.forge(ctx, t, router.KindDead, []byte("router: context 3: forged"))
	select {
	case g := <-got:
		t.Fatalf("the call ended on a forged answer: %q", g)
	default:
	}
	close(release)
	if g := <-got; g != "from the real target" {
		t.Errorf("call answered %q, want the real target's answer", g)
	}
}

// TestForgedDeadLeavesStreamAlone: a Dead from a context that is neither the stream's peer nor
// on the way to it must not end the stream.
func TestForgedDeadLeavesStreamAlone(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree4(t)
	tr.good.Listen(svcEcho, func(s *Stream, _ []byte) {
		defer s.Close()
		io.Copy(s, s)
		s.CloseWrite()
	})
	s, err := tr.client.Open(ctx, 3, svcEcho, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.forge(ctx, t, router.KindDead, []byte("router: context 3: forged"))
	tr.forge(ctx, t, router.KindOpenFail, []byte("forged"))
	go func() { s.Write([]byte("still here")); s.CloseWrite() }()
	b, err := io.ReadAll(s)
	if err != nil || string(b) != "still here" {
		t.Errorf("after the forgeries the echo gave %q, %v", b, err)
	}
}

// TestDeadFromRouterOnPathIsBelieved: the root, which lies between the client and every target,
// may fail a call with Dead (the target's link is gone).
func TestDeadFromRouterOnPathIsBelieved(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree4(t)
	_, err := tr.client.Call(ctx, 77, callEcho, nil) // no such context: the root answers Dead
	if err == nil || !errorsIsDisconnected(err) {
		t.Errorf("call to an unrouted context = %v, want the root's Dead", err)
	}
}

// TestGrantCannotRaiseWindow: a receiver that grants more than it read, or advertises a huge
// window, cannot make a sender queue more than MaxWindow.
func TestGrantCannotRaiseWindow(t *testing.T) {
	ctx := testCtx(t)
	rp := newRawPeer(t, 0)
	accepted := make(chan *Stream, 1)
	rp.srv.Listen(svcTest, func(s *Stream, _ []byte) {
		accepted <- s
		io.Copy(io.Discard, s)
		s.Close()
	})
	var w [4]byte
	binary.BigEndian.PutUint32(w[:], 0xffffffff)
	rp.send(t, router.KindOpen, 0, svcTest, rawHandle, w[:])
	ok := rp.rec.next(ctx, t)
	if ok.Kind != router.KindOpenOK {
		t.Fatalf("open answered %v", ok)
	}
	s := <-accepted
	s.mu.Lock()
	win, max := s.sendWin, s.sendMax
	s.mu.Unlock()
	if win != MaxWindow || max != MaxWindow {
		t.Errorf("advertised 4 GiB: send window %d (max %d), want %d", win, max, MaxWindow)
	}
	binary.BigEndian.PutUint32(w[:], 1)
	rp.send(t, router.KindWindow, 0, ok.ReplyTo, rawHandle, w[:]) // nothing was sent: nothing to give back
	var reset *router.Message
	for _, m := range rp.sync(ctx, t) {
		if m.Kind == router.KindClose && m.Flags&router.FlagError != 0 {
			reset = m
		}
	}
	if reset == nil {
		t.Errorf("a grant beyond the window did not reset the stream")
	}
}

func waitPending(ctx context.Context, t *testing.T, e *Endpoint) {
	t.Helper()
	for {
		e.mu.Lock()
		n := len(e.calls)
		e.mu.Unlock()
		if n > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("the call never became pending")
		default:
		}
		runtimeGosched()
	}
}
