package router_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/router"
)

// testTimeout bounds every wait in these tests; reaching it is a failure, never a pass.
const testTimeout = 10 * time.Second

// socketPair returns the two ends of a connected AF_UNIX stream socket, closed at cleanup.
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

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// recorder is a Handler that queues every delivered frame. It never blocks: if a test lets
// more than its buffer pile up, overflow is set and the test fails at cleanup.
type recorder struct {
	ch       chan *router.Message
	overflow atomic.Bool
}

func newRecorder(t testing.TB) *recorder {
	r := &recorder{ch: make(chan *router.Message, 1024)}
	t.Cleanup(func() {
		if r.overflow.Load() {
			t.Error("recorder overflowed: frames were lost")
		}
	})
	return r
}

func (r *recorder) HandleMessage(m *router.Message) {
	select {
	case r.ch <- m:
	default:
		r.overflow.Store(true)
	}
}

// next returns the next delivered frame, failing the test if none comes before ctx ends.
func (r *recorder) next(ctx context.Context, t testing.TB) *router.Message {
	t.Helper()
	select {
	case m := <-r.ch:
		return m
	case <-ctx.Done():
		t.Fatalf("no frame delivered: %v", ctx.Err())
		return nil
	}
}

// logBuf collects Logf output so tests can check that a refusal was logged.
type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBuf) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// node is one context in a test tree.
type node struct {
	id   router.ID
	r    *router.Router
	rec  *recorder
	up   *router.Link // at a leaf: the link to the root
	down *router.Link // at the root: the link to this leaf
}

// downEvent is one OnLinkDown call at the root.
type downEvent struct {
	link *router.Link
	lost []router.ID
	err  error
}

// tree is a root (context 0) with a trusted client (1) and two untrusted targets (2 and 3),
// each leaf on its own socketpair, the way the daemon wires clients and agents.
type tree struct {
	root           *node
	client, tA, tB *node
	rootLog        *logBuf
	downs          chan downEvent
}

func newTree(t testing.TB) *tree {
	t.Helper()
	tr := &tree{rootLog: &logBuf{}, downs: make(chan downEvent, 16)}
	rootRec := newRecorder(t)
	tr.root = &node{id: 0, rec: rootRec, r: router.New(router.Config{
		ID: 0, Handler: rootRec, Logf: tr.rootLog.logf,
		OnLinkDown: func(l *router.Link, lost []router.ID, err error) {
			tr.downs <- downEvent{l, lost, err}
		},
	})}
	t.Cleanup(tr.root.r.Close)
	leaf := func(id router.ID, name string, trusted bool) *node {
		rootEnd, leafEnd := socketPair(t)
		rec := newRecorder(t)
		n := &node{id: id, rec: rec, r: router.New(router.Config{ID: id, Handler: rec})}
		t.Cleanup(n.r.Close)
		n.down = tr.root.r.AddLink(rootEnd, router.LinkConfig{Name: name, Trusted: trusted, Peer: id})
		n.up = n.r.AddLink(leafEnd, router.LinkConfig{Name: "parent", Parent: true, Trusted: true, Peer: 0})
		return n
	}
	tr.client = leaf(1, "client", true)
	tr.tA = leaf(2, "target-2", false)
	tr.tB = leaf(3, "target-3", false)
	return tr
}

func (tr *tree) byID(id router.ID) *node {
	for _, n := range []*node{tr.root, tr.client, tr.tA, tr.tB} {
		if n.id == id {
			return n
		}
	}
	return nil
}
