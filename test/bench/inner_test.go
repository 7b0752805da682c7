package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Handles the inner benchmarks serve at the far end.
const (
	svcSink  uint32 = 100 // stream: counts bytes until EOF, answers the count (8 bytes)
	callEcho uint32 = 101 // call: returns its payload
)

// node is one context: a router and its endpoint.
type node struct {
	r  *router.Router
	ep *tunnel.Endpoint
}

func newNode(id router.ID) *node {
	ep := tunnel.NewEndpoint(nil)
	r := router.New(router.Config{ID: id, Handler: ep})
	ep.Attach(r)
	return &node{r: r, ep: ep}
}

// socketpair is a connected pair of Unix stream sockets, as between fakessh and the daemon.
func socketpair(tb testing.TB) (net.Conn, net.Conn) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	must(tb, err)
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		must(tb, err)
		return c
	}
	return conn(fds[0]), conn(fds[1])
}

// chain builds client (1) -> [root (0)] -> far (2): with hops 2 the frames are forwarded by a
// root router in the middle, as fakessh -> mitogend -> agent; with hops 1 the client talks to
// the far end directly. It returns the client and the far end's id.
func chain(tb testing.TB, hops int) (*node, router.ID) {
	far := newNode(2)
	far.ep.Listen(svcSink, sink)
	far.ep.HandleCall(callEcho, func(_ context.Context, _ router.ID, p []byte) ([]byte, error) { return p, nil })
	cli := newNode(1)
	a, b := socketpair(tb)
	if hops == 1 {
		cli.r.AddLink(a, router.LinkConfig{Name: "far", Parent: true, Trusted: true, Peer: 2})
		far.r.AddLink(b, router.LinkConfig{Name: "cli", Parent: true, Trusted: true, Peer: 1})
	} else {
		root := newNode(0)
		c, d := socketpair(tb)
		cli.r.AddLink(a, router.LinkConfig{Name: "root", Parent: true, Trusted: true, Peer: 0})
		root.r.AddLink(b, router.LinkConfig{Name: "cli", Trusted: true, Peer: 1})
		root.r.AddLink(c, router.LinkConfig{Name: "far", Peer: 2})
		far.r.AddLink(d, router.LinkConfig{Name: "root", Parent: true, Trusted: true, Peer: 0})
		tb.Cleanup(root.r.Close)
	}
	tb.Cleanup(func() { cli.r.Close(); far.r.Close() })
	return cli, 2
}

func sink(s *tunnel.Stream, _ []byte) {
	defer s.Close()
	n, _ := io.Copy(io.Discard, s)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	s.Write(b[:])
	s.CloseWrite()
}

// BenchmarkInnerStream is one stream's throughput through the router and tunnel layers alone,
// by number of hops and write size (io.Copy writes 32 KiB).
func BenchmarkInnerStream(b *testing.B) {
	for _, hops := range []int{1, 2} {
		for _, size := range []int{32 << 10, 256 << 10} {
			b.Run(fmt.Sprintf("hops=%d/write=%dK", hops, size>>10), func(b *testing.B) {
				cli, far := chain(b, hops)
				s, err := cli.ep.Open(context.Background(), far, svcSink, nil)
				must(b, err)
				defer s.Close()
				buf := make([]byte, size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for range b.N {
					if _, err := s.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
				s.CloseWrite()
				var count [8]byte
				if _, err := io.ReadFull(s, count[:]); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if got := binary.BigEndian.Uint64(count[:]); got != uint64(b.N*size) {
					b.Fatalf("sink counted %d bytes, want %d", got, b.N*size)
				}
			})
		}
	}
}

// BenchmarkInnerCall is one small call's round trip, by number of hops.
func BenchmarkInnerCall(b *testing.B) {
	for _, hops := range []int{1, 2} {
		b.Run(fmt.Sprintf("hops=%d", hops), func(b *testing.B) {
			cli, far := chain(b, hops)
			p := make([]byte, 64)
			b.ResetTimer()
			for range b.N {
				got, err := cli.ep.Call(context.Background(), far, callEcho, p)
				if err != nil || len(got) != len(p) {
					b.Fatalf("call: %d bytes, %v", len(got), err)
				}
			}
		})
	}
}

// BenchmarkInnerOpen is opening a stream and closing it: the tunnel's part of a warm call.
func BenchmarkInnerOpen(b *testing.B) {
	cli, far := chain(b, 2)
	b.ResetTimer()
	for range b.N {
		s, err := cli.ep.Open(context.Background(), far, svcSink, nil)
		if err != nil {
			b.Fatal(err)
		}
		s.CloseWrite()
		var count [8]byte
		if _, err := io.ReadFull(s, count[:]); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
