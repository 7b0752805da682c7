package router_test

import (
	"net"
	"testing"

	"github.com/mitogen-go/mitogend/router"
)

// stubborn is a link whose Close does not end a Read in progress (a pipe that is not pollable):
// the read ends only when the far end closes.
type stubborn struct{ net.Conn }

func (stubborn) Close() error { return nil }

// TestCloseWaitsForReaders: Router.Close returns only once every link's reader has returned,
// as yamux's Session.Close does, so that nothing runs on the router's behalf after it.
func TestCloseWaitsForReaders(t *testing.T) {
	ctx := testCtx(t)
	near, far := socketPair(t)
	down := make(chan struct{})
	r := router.New(router.Config{ID: 0, Handler: newRecorder(t), OnLinkDown: func(*router.Link, []router.ID, error) { close(down) }})
	r.AddLink(stubborn{near}, router.LinkConfig{Name: "stubborn", Peer: 1})
	closed := make(chan struct{})
	go func() {
		r.Close()
		close(closed)
	}()
	select {
	case <-down:
	case <-ctx.Done():
		t.Fatal("Close never took the link down")
	}
	select {
	case <-closed:
		t.Fatal("Close returned while the link's reader was still in Read")
	default:
	}
	far.Close() // the reader's Read ends now
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("Close did not return once the reader had")
	}
}

// TestAddLinkAfterClose: a link added to a closed router starts down, its connection closed,
// and nothing is routed through it.
func TestAddLinkAfterClose(t *testing.T) {
	r := router.New(router.Config{ID: 0, Handler: newRecorder(t)})
	r.Close()
	near, far := socketPair(t)
	var seen *router.Link
	l := r.AddLinkThen(near, router.LinkConfig{Name: "late", Peer: 1}, func(l *router.Link) { seen = l })
	if seen != l {
		t.Errorf("before saw %v, want the new link", seen)
	}
	select {
	case <-l.Done():
	default:
		t.Fatal("a link added after Close is up")
	}
	if r.Reachable(1) {
		t.Error("the late link's peer is routed")
	}
	if n, err := far.Read(make([]byte, 1)); err == nil {
		t.Errorf("read %d bytes from the late link's connection, want it closed", n)
	}
}
