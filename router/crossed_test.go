package router_test

import (
	"fmt"
	"testing"

	"github.com/mitogen-go/mitogend/router"
)

// TestClientExitReachesOnlyItsTargets: a client's end is announced to the targets whose
// contexts its frames reached, and to no other: at a fleet's scale, telling every target of
// every fakessh that exits would cost a frame per target per call.
func TestClientExitReachesOnlyItsTargets(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree(t)
	send(t, tr.client, marker(tr.client, tr.tA, "call"))
	expectMarker(t, tr.tA.rec.next(ctx, t), "call")
	tr.client.r.Close()
	<-tr.downs
	if m := tr.tA.rec.next(ctx, t); m.Kind != router.KindDisconnect || m.Src != 1 {
		t.Errorf("target 2 got %v, want Disconnect of client 1", m)
	}
	if m := tr.root.rec.next(ctx, t); m.Kind != router.KindDisconnect || m.Src != 1 {
		t.Errorf("root got %v, want Disconnect of client 1", m)
	}
	send(t, tr.root, marker(tr.root, tr.tB, "nothing before me"))
	expectMarker(t, tr.tB.rec.next(ctx, t), "nothing before me")
}

// TestTargetFramesToAClientCross: frames a target sends a client count as much as the
// client's own: the target hears of the client's end.
func TestTargetFramesToAClientCross(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree(t)
	send(t, tr.tB, marker(tr.tB, tr.client, "unasked"))
	expectMarker(t, tr.client.rec.next(ctx, t), "unasked")
	tr.client.r.Close()
	<-tr.downs
	if m := tr.tB.rec.next(ctx, t); m.Kind != router.KindDisconnect || m.Src != 1 {
		t.Errorf("target 3 got %v, want Disconnect of client 1", m)
	}
}

// TestChildEndAlwaysGoesUp: at a router with a parent (an agent), a child's end goes up even
// when none of the child's frames crossed: the root must learn of every context's end.
func TestChildEndAlwaysGoesUp(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree(t)
	childEnd, agentEnd := socketPair(t)
	childRec := newRecorder(t)
	child := router.New(router.Config{ID: 30, Handler: childRec})
	t.Cleanup(child.Close)
	child.AddLink(childEnd, router.LinkConfig{Name: "parent", Parent: true, Trusted: true, Peer: 2})
	tr.tA.r.AddLink(agentEnd, router.LinkConfig{Name: "child-30", Peer: 30})
	if err := tr.root.r.AddRoute(30, 2); err != nil {
		t.Fatal(err)
	}
	child.Close()
	if m := tr.root.rec.next(ctx, t); m.Kind != router.KindDisconnect || m.Src != 30 {
		t.Errorf("root got %v, want Disconnect of child 30", m)
	}
	// The root's own route to it went with the notice.
	send(t, tr.client, router.Message{Header: router.Header{Kind: router.KindRequest, Dst: 30, Src: 1, Handle: 1, ReplyTo: 606}})
	if m := tr.client.rec.next(ctx, t); m.Kind != router.KindDead || m.Handle != 606 {
		t.Errorf("frame to the departed child: got %v, want Dead for 606", m)
	}
}

// TestLinksListRoutes: each link lists the contexts routed through it, and only those, as the
// routes move.
func TestLinksListRoutes(t *testing.T) {
	tr := newTree(t)
	for _, id := range []router.ID{20, 21} {
		if err := tr.root.r.AddRoute(id, 2); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.root.r.AddRoute(21, 3); err != nil { // moved behind the other target
		t.Fatal(err)
	}
	want := map[string]string{"client": "[1]", "target-2": "[2 20]", "target-3": "[3 21]"}
	for _, ls := range tr.root.r.Links() {
		if got := sprintIDs(ls.Routes); got != want[ls.Name] {
			t.Errorf("link %s routes %s, want %s", ls.Name, got, want[ls.Name])
		}
	}
}

func sprintIDs(ids []router.ID) string { return fmt.Sprint(ids) }
