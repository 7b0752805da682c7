package lanes

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// striped writes data through a Writer over n buffers, in writes of the sizes given (cycled),
// and returns the lanes' bytes.
func striped(t *testing.T, n int, data []byte, sizes []int, end bool) []*bytes.Buffer {
	t.Helper()
	bufs := make([]*bytes.Buffer, n)
	ws := make([]io.Writer, n)
	for i := range bufs {
		bufs[i] = &bytes.Buffer{}
		ws[i] = bufs[i]
	}
	w := NewWriter(ws)
	for i := 0; len(data) > 0; i++ {
		k := min(sizes[i%len(sizes)], len(data))
		if _, err := w.Write(data[:k]); err != nil {
			t.Fatal(err)
		}
		data = data[k:]
	}
	if end {
		if err := w.End(); err != nil {
			t.Fatal(err)
		}
	}
	return bufs
}

func readers(bufs []*bytes.Buffer) []io.Reader {
	rs := make([]io.Reader, len(bufs))
	for i, b := range bufs {
		rs[i] = b
	}
	return rs
}

func TestRoundTrip(t *testing.T) {
	data := make([]byte, 3*MaxChunk+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name  string
		lanes int
		sizes []int
	}{
		{"one lane", 1, []int{4096}},
		{"four lanes, small writes", 4, []int{1, 100, 4096}},
		{"four lanes, writes above a chunk", 4, []int{MaxChunk + 1, 3 * MaxChunk}},
		{"sixteen lanes", MaxLanes, []int{32 << 10}},
		{"empty", 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := data
			if tc.sizes == nil {
				in = nil
			}
			bufs := striped(t, tc.lanes, in, append(tc.sizes, 1), true)
			got, err := io.ReadAll(NewReader(readers(bufs)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, in) {
				t.Fatalf("read %d bytes, wrote %d, or they differ", len(got), len(in))
			}
		})
	}
}

// TestChunksRoundRobin: chunk k is on lane k mod n, so each lane holds its share.
func TestChunksRoundRobin(t *testing.T) {
	bufs := striped(t, 3, make([]byte, 7*100), []int{100}, true)
	// seven data chunks and the end chunk: lanes 0 and 1 hold three, lane 2 two.
	for i, want := range []int{3 * 104, 2*104 + 4, 2 * 104} {
		if bufs[i].Len() != want {
			t.Errorf("lane %d holds %d bytes, want %d", i, bufs[i].Len(), want)
		}
	}
}

func TestTruncatedStreamFails(t *testing.T) {
	bufs := striped(t, 2, make([]byte, 1000), []int{300}, false) // no end chunk
	_, err := io.ReadAll(NewReader(readers(bufs)))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a stream without its end chunk read as %v, want io.ErrUnexpectedEOF", err)
	}
	bufs = striped(t, 2, make([]byte, 1000), []int{300}, true)
	bufs[1].Truncate(bufs[1].Len() - 10) // a chunk cut short
	if _, err := io.ReadAll(NewReader(readers(bufs))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a chunk cut short read as %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestChunkTooLarge(t *testing.T) {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(MaxChunk+1))
	b.Write(make([]byte, 100))
	_, err := io.ReadAll(NewReader([]io.Reader{&b}))
	if !errors.Is(err, ErrChunkTooLarge) {
		t.Fatalf("got %v, want ErrChunkTooLarge", err)
	}
}

func TestReadFrom(t *testing.T) {
	data := make([]byte, 1<<20+3)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	var a, b bytes.Buffer
	w := NewWriter([]io.Writer{&a, &b})
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	w.End()
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("a write after End succeeded")
	}
	got, err := io.ReadAll(NewReader([]io.Reader{&a, &b}))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (%v), wrote %d", len(got), err, len(data))
	}
}

var helloCases = []struct {
	hello []byte
	ok    bool
}{
	{Hello{Set: SetID{1, 2, 3}, Index: 0, Count: 1}.Marshal(), true},
	{Hello{Set: SetID{9}, Index: 15, Count: 16}.Marshal(), true},
	{Hello{Index: 2, Count: 2}.Marshal(), false},
	{Hello{Index: 0, Count: 0}.Marshal(), false},
	{Hello{Index: 0, Count: 17}.Marshal(), false},
	{append([]byte("mitolan2"), make([]byte, 18)...), false},
	{[]byte("mitolan1"), false},
}

func TestHello(t *testing.T) {
	for i, tc := range helloCases {
		h, err := ReadHello(bytes.NewReader(tc.hello))
		if (err == nil) != tc.ok {
			t.Errorf("case %d: %v, want ok=%v", i, err, tc.ok)
		}
		if err == nil && !bytes.Equal(h.Marshal(), tc.hello) {
			t.Errorf("case %d: %+v marshals to other bytes", i, h)
		}
	}
}

// FuzzReader: whatever the lanes hold, the reader ends (EOF or an error) without reading more
// than the lanes hold or panicking.
func FuzzReader(f *testing.F) {
	for _, tc := range helloCases {
		f.Add(tc.hello, []byte{})
	}
	good := striped(&testing.T{}, 2, []byte("hello, lanes"), []int{5}, true)
	f.Add(good[0].Bytes(), good[1].Bytes())
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r := NewReader([]io.Reader{bytes.NewReader(a), bytes.NewReader(b)})
		got, _ := io.ReadAll(r)
		if len(got) > len(a)+len(b) {
			t.Fatalf("read %d bytes from %d", len(got), len(a)+len(b))
		}
		ReadHello(bytes.NewReader(a))
	})
}

func TestReaderErr(t *testing.T) {
	bufs := striped(t, 2, make([]byte, 1000), []int{300}, true)
	r := NewReader(readers(bufs))
	if _, err := io.ReadAll(r); err != nil || r.Err() != nil {
		t.Fatalf("a clean end: ReadAll %v, Err %v", err, r.Err())
	}
	bufs = striped(t, 2, make([]byte, 1000), []int{300}, false)
	r = NewReader(readers(bufs))
	io.ReadAll(r)
	if !errors.Is(r.Err(), io.ErrUnexpectedEOF) {
		t.Fatalf("a stream cut short: Err %v", r.Err())
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("gone") }

// TestWriterFailureSticks: once a lane failed, nothing more goes out on any lane, the end
// included, so that the reader sees the hole as an error.
func TestWriterFailureSticks(t *testing.T) {
	var good bytes.Buffer
	w := NewWriter([]io.Writer{failingWriter{}, &good})
	if _, err := w.Write([]byte("a")); err == nil {
		t.Fatal("a write to a failed lane succeeded")
	}
	if _, err := w.Write([]byte("b")); err == nil {
		t.Fatal("a write after a lane failed succeeded")
	}
	if err := w.End(); err == nil {
		t.Fatal("End after a lane failed succeeded")
	}
	if good.Len() != 0 {
		t.Fatalf("the good lane got %d bytes after the other failed", good.Len())
	}
}
