package router_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/router"
)

func send(t testing.TB, n *node, m router.Message) {
	t.Helper()
	if err := n.r.Send(&m); err != nil {
		t.Fatalf("context %d: Send(%v): %v", n.id, &m, err)
	}
}

// marker sends a frame that the trust rules allow, so that its arrival proves every frame
// sent before it on the same path has been dealt with (links and routers keep order).
func marker(from, to *node, tag string) router.Message {
	return router.Message{Header: router.Header{Kind: router.KindRequest, Dst: to.id, Src: from.id, Handle: 77, ReplyTo: 78}, Payload: []byte(tag)}
}

func expectMarker(t *testing.T, m *router.Message, tag string) {
	t.Helper()
	if m.Kind != router.KindRequest || string(m.Payload) != tag {
		t.Fatalf("got %v %q, want marker %q: an earlier frame got through", m, m.Payload, tag)
	}
}

// allowedRoutes are frames the trust rules let through in a tree (see newTree).
var allowedRoutes = []struct {
	name     string
	from, to router.ID
	kind     router.Kind
	flags    uint8
}{
	{"client to target", 1, 2, router.KindOpen, 0},
	{"client to other target", 1, 3, router.KindRequest, 0},
	{"target to client", 2, 1, router.KindData, 0},
	{"target to root", 3, 0, router.KindReply, router.FlagError},
	{"client to root", 1, 0, router.KindRequest, 0},
	{"root to target", 0, 2, router.KindWindow, 0},
	{"target to itself via root is local", 2, 2, router.KindEOF, 0},
}

func TestRouteAllowed(t *testing.T) {
	tr := newTree(t)
	for i, tt := range allowedRoutes {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			from, to := tr.byID(tt.from), tr.byID(tt.to)
			want := router.Message{
				Header:  router.Header{Kind: tt.kind, Flags: tt.flags, Dst: tt.to, Src: tt.from, Handle: uint32(1024 + i), ReplyTo: uint32(2048 + i)},
				Payload: []byte(fmt.Sprintf("payload %d", i)),
			}
			send(t, from, want)
			got := to.rec.next(ctx, t)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("delivered %v %q, want %v %q", got, got.Payload, &want, want.Payload)
			}
		})
	}
}

func TestTargetToTargetRefused(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree(t)
	for _, kind := range []router.Kind{router.KindOpen, router.KindRequest, router.KindData} {
		send(t, tr.tA, router.Message{Header: router.Header{Kind: kind, Dst: 3, Src: 2, Handle: 16, ReplyTo: 4242}, Payload: []byte("let me in")})
		dead := tr.tA.rec.next(ctx, t)
		want := router.Header{Kind: router.KindDead, Dst: 2, Src: 0, Handle: 4242}
		if dead.Header != want {
			t.Errorf("kind %d: notice header = %+v, want %+v", kind, dead.Header, want)
		}
		if !strings.Contains(string(dead.Payload), "permission denied") || !strings.Contains(string(dead.Payload), "context 3") {
			t.Errorf("kind %d: notice payload = %q", kind, dead.Payload)
		}
	}
	// Prove nothing reached target 3: A's marker to the client is read after A's refused
	// frames, and the client's marker to B is queued after anything those could have caused.
	send(t, tr.tA, marker(tr.tA, tr.client, "a-done"))
	expectMarker(t, tr.client.rec.next(ctx, t), "a-done")
	send(t, tr.client, marker(tr.client, tr.tB, "c-done"))
	expectMarker(t, tr.tB.rec.next(ctx, t), "c-done")

	logged := false
	for _, l := range tr.rootLog.snapshot() {
		logged = logged || strings.Contains(l, "targets may not reach other targets")
	}
	if !logged {
		t.Error("refusal was not logged")
	}
}

func TestDeadIsNeverAnsweredWithDead(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree(t)
	// A Dead notice that cannot be delivered (refused, then unroutable) is dropped...
	send(t, tr.tA, router.Message{Header: router.Header{Kind: router.KindDead, Dst: 3, Src: 2, Handle: 1, ReplyTo: 111}, Payload: []byte("x")})
	send(t, tr.tA, router.Message{Header: router.Header{Kind: router.KindDead, Dst: 99, Src: 2, Handle: 1, ReplyTo: 112}, Payload: []byte("x")})
	// ...while the same refusal of a Request is answered; that answer must be the next frame A sees.
	send(t, tr.tA, router.Message{Header: router.Header{Kind: router.KindRequest, Dst: 3, Src: 2, Handle: 1, ReplyTo: 113}})
	m := tr.tA.rec.next(ctx, t)
	if m.Kind != router.KindDead || m.Handle != 113 {
		t.Fatalf("first frame back = %v, want the Dead notice for reply-to 113", m)
	}
}

func TestUnroutable(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree(t)
	// The root has no parent: an unknown context is answered with Dead.
	send(t, tr.client, router.Message{Header: router.Header{Kind: router.KindOpen, Dst: 99, Src: 1, Handle: 16, ReplyTo: 1030}})
	m := tr.client.rec.next(ctx, t)
	if m.Kind != router.KindDead || m.Dst != 1 || m.Handle != 1030 || !strings.Contains(string(m.Payload), "no route") {
		t.Errorf("got %v %q, want Dead for 1030 saying no route", m, m.Payload)
	}
	// A router with neither a route nor a parent refuses to send at all.
	r := router.New(router.Config{ID: 5, Handler: newRecorder(t)})
	if err := r.Send(&router.Message{Header: router.Header{Kind: router.KindRequest, Dst: 6, Src: 5}}); !errors.Is(err, router.ErrNoRoute) {
		t.Errorf("Send without a route = %v, want ErrNoRoute", err)
	}
	// Oversized payloads are refused at the sender rather than killing the link at the receiver.
	big := router.Message{Header: router.Header{Kind: router.KindData, Dst: 0, Src: 1}, Payload: make([]byte, router.DefaultMaxPayload+1)}
	if err := tr.client.r.Send(&big); !errors.Is(err, router.ErrTooLarge) {
		t.Errorf("Send of %d bytes = %v, want ErrTooLarge", len(big.Payload), err)
	}
}

// spoofedSources are frames whose src is not behind the link they arrive on.
var spoofedSources = []struct {
	name      string
	from, dst router.ID
	src       router.ID
}{
	{"target claims other target", 2, 1, 3},
	{"target claims client", 2, 1, 1},
	{"target claims root", 2, 1, 0},
	{"target claims unknown context", 2, 1, 99},
	{"target claims other target to root", 2, 0, 3},
	{"client claims target", 1, 3, 2},
}

func TestSpoofedSourceDropped(t *testing.T) {
	for _, tt := range spoofedSources {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			tr := newTree(t)
			from, to := tr.byID(tt.from), tr.byID(tt.dst)
			send(t, from, router.Message{Header: router.Header{Kind: router.KindRequest, Dst: tt.dst, Src: tt.src, Handle: 1, ReplyTo: 2}, Payload: []byte("spoofed")})
			send(t, from, marker(from, to, "honest"))
			expectMarker(t, to.rec.next(ctx, t), "honest")
			// No Dead notice either: it would go to the context that was impersonated.
			send(t, to, marker(to, from, "back"))
			expectMarker(t, from.rec.next(ctx, t), "back")
			dropped := false
			for _, l := range tr.rootLog.snapshot() {
				dropped = dropped || strings.Contains(l, "not behind it")
			}
			if !dropped {
				t.Error("drop was not logged")
			}
		})
	}
}

func TestLinkDownFloodsDisconnect(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree(t)
	send(t, tr.client, marker(tr.client, tr.tA, "hello")) // the client has business with target 2
	expectMarker(t, tr.tA.rec.next(ctx, t), "hello")
	tr.tA.r.Close() // target 2 goes away; the root reads EOF on its link

	ev := <-tr.downs
	if ev.link != tr.tA.down || !reflect.DeepEqual(ev.lost, []router.ID{2}) || ev.err == nil {
		t.Fatalf("OnLinkDown(%v, %v, %v), want target-2's link, lost [2], an error", ev.link.Name(), ev.lost, ev.err)
	}
	for _, n := range []*node{tr.root, tr.client} {
		m := n.rec.next(ctx, t)
		if m.Kind != router.KindDisconnect || m.Src != 2 || m.Dst != n.id {
			t.Errorf("context %d got %v, want Disconnect of context 2 addressed to itself", n.id, m)
		}
	}
	// Target 3 never exchanged a frame with target 2: nothing of it waits on 2.
	send(t, tr.root, marker(tr.root, tr.tB, "nothing before me"))
	expectMarker(t, tr.tB.rec.next(ctx, t), "nothing before me")
	for _, ls := range tr.root.r.Links() {
		if ls.Name == "target-2" {
			t.Errorf("root still lists the dead link: %+v", ls)
		}
	}
	// The route is gone: the client now gets a Dead notice instead of silence.
	send(t, tr.client, router.Message{Header: router.Header{Kind: router.KindRequest, Dst: 2, Src: 1, Handle: 1, ReplyTo: 555}})
	if m := tr.client.rec.next(ctx, t); m.Kind != router.KindDead || m.Handle != 555 {
		t.Errorf("after disconnect got %v, want Dead for 555", m)
	}
}

func TestDisconnectNotice(t *testing.T) {
	t.Run("for a context behind the link floods on", func(t *testing.T) {
		ctx := testCtx(t)
		tr := newTree(t)
		tr.root.r.AddRoute(20, 2) // context 20 lives behind target 2
		from20 := marker(tr.tA, tr.client, "from 20")
		from20.Src = 20
		send(t, tr.tA, from20)
		expectMarker(t, tr.client.rec.next(ctx, t), "from 20")
		send(t, tr.tA, router.Message{Header: router.Header{Kind: router.KindDisconnect, Src: 20}})
		for _, n := range []*node{tr.root, tr.client} {
			if m := n.rec.next(ctx, t); m.Kind != router.KindDisconnect || m.Src != 20 {
				t.Errorf("context %d got %v, want Disconnect of 20", n.id, m)
			}
		}
		send(t, tr.root, marker(tr.root, tr.tB, "nothing before me"))
		expectMarker(t, tr.tB.rec.next(ctx, t), "nothing before me")
		// The flood does not echo back to the link it came from.
		send(t, tr.client, marker(tr.client, tr.tA, "after"))
		expectMarker(t, tr.tA.rec.next(ctx, t), "after")
		// And the route is gone.
		send(t, tr.client, router.Message{Header: router.Header{Kind: router.KindRequest, Dst: 20, Src: 1, Handle: 1, ReplyTo: 707}})
		if m := tr.client.rec.next(ctx, t); m.Kind != router.KindDead || m.Handle != 707 {
			t.Errorf("frame to the departed context: got %v, want Dead for 707", m)
		}
	})
	t.Run("for a context elsewhere is ignored", func(t *testing.T) {
		ctx := testCtx(t)
		tr := newTree(t)
		send(t, tr.tA, router.Message{Header: router.Header{Kind: router.KindDisconnect, Src: 3}})
		send(t, tr.tA, marker(tr.tA, tr.client, "after"))
		expectMarker(t, tr.client.rec.next(ctx, t), "after")
		// Context 3 is still routed.
		send(t, tr.client, marker(tr.client, tr.tB, "still there"))
		expectMarker(t, tr.tB.rec.next(ctx, t), "still there")
		select {
		case m := <-tr.root.rec.ch:
			t.Errorf("root handler got %v", m)
		default:
		}
	})
}

func TestTrusted(t *testing.T) {
	tr := newTree(t)
	tests := []struct {
		name string
		at   *node
		id   router.ID
		want bool
	}{
		{"root itself", tr.root, 0, true},
		{"client at root", tr.root, 1, true},
		{"target at root", tr.root, 2, false},
		{"other target at root", tr.root, 3, false},
		{"unknown at root (no parent)", tr.root, 99, false},
		{"self at target", tr.tA, 2, true},
		{"root at target", tr.tA, 0, true},
		{"anything at target goes via its trusted parent", tr.tA, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.at.r.Trusted(tt.id); got != tt.want {
				t.Errorf("context %d: Trusted(%d) = %v, want %v", tt.at.id, tt.id, got, tt.want)
			}
		})
	}
	t.Run("untrusted parent", func(t *testing.T) {
		a, _ := socketPair(t)
		r := router.New(router.Config{ID: 4, Handler: newRecorder(t)})
		t.Cleanup(r.Close)
		r.AddLink(a, router.LinkConfig{Name: "parent", Parent: true, Peer: 0})
		if r.Trusted(0) || r.Trusted(7) {
			t.Error("contexts behind an untrusted parent are trusted")
		}
		if !r.Trusted(4) {
			t.Error("a router does not trust itself")
		}
	})
}

func TestAddRouteContextBehindContext(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree(t)
	// Context 20 lives behind target 2 (e.g. sudo on the target): frames from it are accepted
	// on target 2's link, and frames to it are sent down that link.
	tr.root.r.AddRoute(20, 2)
	send(t, tr.tA, router.Message{Header: router.Header{Kind: router.KindReply, Dst: 1, Src: 20, Handle: 6}, Payload: []byte("from deep")})
	if got := tr.client.rec.next(ctx, t); got.Src != 20 || !bytes.Equal(got.Payload, []byte("from deep")) {
		t.Errorf("client got %v %q", got, got.Payload)
	}
	// Target 2 itself has no route to 20, so its default route (the parent) would send the
	// frame back where it came from: it answers Dead instead of looping.
	send(t, tr.client, router.Message{Header: router.Header{Kind: router.KindRequest, Dst: 20, Src: 1, Handle: 5, ReplyTo: 606}})
	m := tr.client.rec.next(ctx, t)
	if m.Kind != router.KindDead || m.Handle != 606 || m.Src != 2 || !strings.Contains(string(m.Payload), "loops back") {
		t.Errorf("client got %v %q, want Dead from context 2 saying the route loops back", m, m.Payload)
	}
}

func TestQueueOverflowTearsLinkDown(t *testing.T) {
	ctx := testCtx(t)
	rec := newRecorder(t)
	r := router.New(router.Config{ID: 0, Handler: rec, MaxQueue: 64 << 10})
	t.Cleanup(r.Close)
	ours, _ := socketPair(t) // nobody reads the other end
	l := r.AddLink(ours, router.LinkConfig{Name: "stuck", Peer: 2})
	chunk := make([]byte, 32<<10)
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = r.Send(&router.Message{Header: router.Header{Kind: router.KindData, Dst: 2, Handle: 1}, Payload: chunk})
	}
	if !errors.Is(err, router.ErrQueueOverflow) && !errors.Is(err, router.ErrLinkClosed) {
		t.Fatalf("Send kept succeeding or failed oddly: %v", err)
	}
	select {
	case <-l.Done():
	case <-ctx.Done():
		t.Fatal("link still up")
	}
	if !errors.Is(l.Err(), router.ErrQueueOverflow) {
		t.Errorf("Err() = %v, want ErrQueueOverflow", l.Err())
	}
}
