package router_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/router"
)

func TestOnPath(t *testing.T) {
	tr := newTree(t)
	// At the root, context 20 lives behind target 2 and 21 behind 20 (a host behind a bastion
	// behind a target, say).
	if err := tr.root.r.AddRoute(20, 2); err != nil {
		t.Fatal(err)
	}
	if err := tr.root.r.AddRoute(21, 20); err != nil {
		t.Fatal(err)
	}
	if err := tr.root.r.AddRoute(30, 99); err == nil {
		t.Error("AddRoute behind an unrouted context succeeded at the root, which has no parent")
	}
	tests := []struct {
		name     string
		at       *node
		src, dst router.ID
		want     bool
	}{
		{"the destination itself", tr.root, 2, 2, true},
		{"this router", tr.root, 0, 2, true},
		{"another target for a target", tr.root, 3, 2, false},
		{"a client for a target", tr.root, 1, 2, false},
		{"the target in front of a context behind it", tr.root, 2, 20, true},
		{"every hop in front of a deep context", tr.root, 20, 21, true},
		{"the first hop in front of a deep context", tr.root, 2, 21, true},
		{"another target for a deep context", tr.root, 3, 21, false},
		{"a context behind the destination", tr.root, 21, 20, false},
		{"at a client: the parent, for anything beyond it", tr.client, 0, 3, true},
		{"at a client: a target, for another target", tr.client, 2, 3, false},
		{"at a client: a target, for itself", tr.client, 3, 3, true},
		{"at a target: the parent, for a client", tr.tA, 0, 1, true},
		{"at a target: another target, for a client", tr.tA, 3, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.at.r.OnPath(tt.src, tt.dst); got != tt.want {
				t.Errorf("context %d: OnPath(%d, %d) = %v, want %v", tt.at.id, tt.src, tt.dst, got, tt.want)
			}
		})
	}
	t.Run("at a client that learnt the chain", func(t *testing.T) {
		c := tr.client.r
		if err := c.AddRoute(2, 0); err != nil {
			t.Fatal(err)
		}
		if err := c.AddRoute(20, 2); err != nil {
			t.Fatal(err)
		}
		for _, src := range []router.ID{0, 2, 20} {
			if !c.OnPath(src, 20) {
				t.Errorf("OnPath(%d, 20) = false: context %d is on the chain", src, src)
			}
		}
		if c.OnPath(3, 20) {
			t.Error("OnPath(3, 20) = true: context 3 is not on the chain")
		}
	})
}

// TestEmptyFramesCountAgainstTheQueue: a peer that never reads while it makes this router answer
// it with empty frames (Dead notices, Closes) must hit the queue bound; counting payload bytes
// alone would let the queue grow without limit.
func TestEmptyFramesCountAgainstTheQueue(t *testing.T) {
	ctx := testCtx(t)
	r := router.New(router.Config{ID: 0, Handler: newRecorder(t), MaxQueue: 1 << 20})
	t.Cleanup(r.Close)
	ours, _ := socketPair(t) // nobody reads the other end
	l := r.AddLink(ours, router.LinkConfig{Name: "stuck", Peer: 2})
	var err error
	sent := 0
	for ; sent < 1<<20 && err == nil; sent++ {
		err = r.Send(&router.Message{Header: router.Header{Kind: router.KindClose, Dst: 2, Handle: uint32(sent)}})
	}
	if !errors.Is(err, router.ErrQueueOverflow) {
		t.Fatalf("after %d empty frames Send = %v, want ErrQueueOverflow", sent, err)
	}
	<-l.Done()
	select {
	case <-ctx.Done():
		t.Fatal("link still up")
	default:
	}
	if !strings.Contains(l.Err().Error(), "bound") {
		t.Errorf("link error %q does not say what bound was exceeded", l.Err())
	}
}

// TestQueueTotalShedsTheWorstLink: links that each stay under their own bound but together
// exceed the router's total lose the one holding the most; the others stay up.
func TestQueueTotalShedsTheWorstLink(t *testing.T) {
	r := router.New(router.Config{ID: 0, Handler: newRecorder(t), MaxQueue: 1 << 30, MaxQueueTotal: 4 << 20})
	t.Cleanup(r.Close)
	small, _ := socketPair(t)
	big, _ := socketPair(t)
	ls := r.AddLink(small, router.LinkConfig{Name: "small", Peer: 2})
	lb := r.AddLink(big, router.LinkConfig{Name: "big", Peer: 3})
	chunk := make([]byte, 256<<10)
	for range 4 {
		r.Send(&router.Message{Header: router.Header{Kind: router.KindData, Dst: 2}, Payload: chunk})
	}
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = r.Send(&router.Message{Header: router.Header{Kind: router.KindData, Dst: 3}, Payload: chunk})
	}
	<-lb.Done()
	if !errors.Is(lb.Err(), router.ErrQueueOverflow) || !strings.Contains(lb.Err().Error(), "all links") {
		t.Errorf("big link error = %v, want the total bound", lb.Err())
	}
	select {
	case <-ls.Done():
		t.Errorf("the small link went down too: %v", ls.Err())
	default:
	}
}

// TestDisconnectCarriesReason: the words a link's Reason gives for its loss reach every other
// neighbour and the local handler, and a reason from the wire is passed on unchanged.
func TestDisconnectCarriesReason(t *testing.T) {
	ctx := testCtx(t)
	rootRec := newRecorder(t)
	root := router.New(router.Config{ID: 0, Handler: rootRec})
	t.Cleanup(root.Close)
	leaf := func(id router.ID, lc router.LinkConfig) (*node, *router.Link) {
		a, b := socketPair(t)
		rec := newRecorder(t)
		r := router.New(router.Config{ID: id, Handler: rec})
		t.Cleanup(r.Close)
		lc.Peer = id
		down := root.AddLink(a, lc)
		r.AddLink(b, router.LinkConfig{Name: "parent", Parent: true, Trusted: true, Peer: 0})
		return &node{id: id, r: r, rec: rec}, down
	}
	client, _ := leaf(1, router.LinkConfig{Name: "client", Trusted: true})
	clientRec := client.rec
	tgt, target := leaf(2, router.LinkConfig{Name: "target", Reason: func(err error) string {
		return "Timeout, server 198.18.0.1 not responding."
	}})
	send(t, client, marker(client, tgt, "a call")) // so that the client is told of 2's end
	expectMarker(t, tgt.rec.next(ctx, t), "a call")
	target.CloseWith(errors.New("keepalive"))
	for _, rec := range []*recorder{rootRec, clientRec} {
		m := rec.next(ctx, t)
		if m.Kind != router.KindDisconnect || m.Src != 2 || string(m.Payload) != "Timeout, server 198.18.0.1 not responding." {
			t.Errorf("got %v %q, want Disconnect of 2 with the link's reason", m, m.Payload)
		}
	}
	if got := target.Err().Error(); got != "keepalive" {
		t.Errorf("Err() = %q, want the error CloseWith gave", got)
	}
}

// TestTargetOverflowingAClientLosesItsOwnLink: frames from a target that a client is not reading
// fast enough overflow the client's queue; the target, which sent beyond the client's windows,
// is taken down, and the client keeps its link.
func TestTargetOverflowingAClientLosesItsOwnLink(t *testing.T) {
	ctx := testCtx(t)
	r := router.New(router.Config{ID: 0, Handler: newRecorder(t), MaxQueue: 1 << 20})
	t.Cleanup(r.Close)
	stalled, _ := socketPair(t) // a client that stopped reading
	client := r.AddLink(stalled, router.LinkConfig{Name: "client", Trusted: true, Peer: 1})
	ours, theirs := socketPair(t)
	target := r.AddLink(ours, router.LinkConfig{Name: "target", Peer: 2})
	chunk := make([]byte, 64<<10)
	go func() {
		for i := 0; i < 1000; i++ {
			m := &router.Message{Header: router.Header{Kind: router.KindData, Dst: 1, Src: 2, Handle: 1025}, Payload: chunk}
			if router.WriteMessage(theirs, m) != nil {
				return
			}
		}
	}()
	select {
	case <-target.Done():
	case <-ctx.Done():
		t.Fatal("the flooding target's link stayed up")
	}
	if !errors.Is(target.Err(), router.ErrQueueOverflow) {
		t.Errorf("target link error = %v, want ErrQueueOverflow", target.Err())
	}
	select {
	case <-client.Done():
		t.Errorf("the client lost its link: %v", client.Err())
	default:
	}
}
