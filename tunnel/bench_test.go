package tunnel

import (
	"encoding/binary"
	"io"
	"testing"
)

// BenchmarkStreamThroughput measures one stream's bulk throughput over a socketpair: the
// writer's bytes, acknowledged by the sink's byte count at the end.
func BenchmarkStreamThroughput(b *testing.B) {
	ctx := testCtx(b)
	p := newPair(b, pairOpts{})
	buf := randBytes(9, 256<<10)
	s, err := p.cli.Open(ctx, 0, svcSink, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(int64(len(buf)))
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
	if got, want := binary.BigEndian.Uint64(count[:]), uint64(b.N)*uint64(len(buf)); got != want {
		b.Fatalf("sink counted %d bytes, want %d", got, want)
	}
}

// BenchmarkCallRoundTrip measures one small call and its reply over a socketpair.
func BenchmarkCallRoundTrip(b *testing.B) {
	ctx := testCtx(b)
	p := newPair(b, pairOpts{})
	payload := make([]byte, 64)
	b.ResetTimer()
	for range b.N {
		got, err := p.cli.Call(ctx, 0, callEcho, payload)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != len(payload)+1 {
			b.Fatalf("reply of %d bytes", len(got))
		}
	}
}
