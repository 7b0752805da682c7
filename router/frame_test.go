package router_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/router"
)

// rawHeader builds a header by hand, independently of the package's encoder, so that
// the tests check the layout written in spec.md rather than the code against itself.
func rawHeader(magic uint16, kind, flags uint8, dst, src, handle, replyTo, length uint32) []byte {
	b := make([]byte, router.HeaderSize)
	binary.BigEndian.PutUint16(b[0:], magic)
	b[2] = kind
	b[3] = flags
	binary.BigEndian.PutUint32(b[4:], dst)
	binary.BigEndian.PutUint32(b[8:], src)
	binary.BigEndian.PutUint32(b[12:], handle)
	binary.BigEndian.PutUint32(b[16:], replyTo)
	binary.BigEndian.PutUint32(b[20:], length)
	return b
}

// roundTripCases are well-formed frames; the frame fuzzers start from their encodings.
var roundTripCases = []struct {
	name string
	msg  router.Message
}{
	{"empty payload", router.Message{Header: router.Header{Kind: router.KindEOF, Dst: 1, Src: 2, Handle: 1025, ReplyTo: 1026}}},
	{"request", router.Message{Header: router.Header{Kind: router.KindRequest, Dst: 0, Src: 7, Handle: 2, ReplyTo: 4096}, Payload: []byte(`{"x":1}`)}},
	{"error reply", router.Message{Header: router.Header{Kind: router.KindReply, Flags: router.FlagError, Dst: 7, Handle: 4096}, Payload: []byte("boom")}},
	{"max ids", router.Message{Header: router.Header{Kind: router.KindStreamRequest, Dst: 0xffffffff, Src: 0xfffffffe, Handle: 0xfffffffd, ReplyTo: 0xfffffffc}, Payload: []byte("signal\x00TERM")}},
	{"max payload", router.Message{Header: router.Header{Kind: router.KindData, Dst: 3, Src: 4, Handle: 5, ReplyTo: 6}, Payload: bytes.Repeat([]byte{0xa5}, router.DefaultMaxPayload)}},
}

func TestMessageRoundTrip(t *testing.T) {
	for _, tt := range roundTripCases {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := router.WriteMessage(&buf, &tt.msg); err != nil {
				t.Fatalf("WriteMessage: %v", err)
			}
			if got, want := buf.Len(), router.HeaderSize+len(tt.msg.Payload); got != want {
				t.Fatalf("encoded %d bytes, want %d", got, want)
			}
			h := tt.msg.Header
			wantHdr := rawHeader(router.Magic, uint8(h.Kind), h.Flags, uint32(h.Dst), uint32(h.Src), h.Handle, h.ReplyTo, uint32(len(tt.msg.Payload)))
			if !bytes.Equal(buf.Bytes()[:router.HeaderSize], wantHdr) {
				t.Fatalf("header = %x, want %x", buf.Bytes()[:router.HeaderSize], wantHdr)
			}
			got, err := router.ReadMessage(&buf, router.DefaultMaxPayload)
			if err != nil {
				t.Fatalf("ReadMessage: %v", err)
			}
			if got.Header != tt.msg.Header {
				t.Errorf("header = %+v, want %+v", got.Header, tt.msg.Header)
			}
			if !bytes.Equal(got.Payload, tt.msg.Payload) {
				t.Errorf("payload differs (%d bytes, want %d)", len(got.Payload), len(tt.msg.Payload))
			}
			if _, err := router.ReadMessage(&buf, router.DefaultMaxPayload); err != io.EOF {
				t.Errorf("read past the only frame: err = %v, want io.EOF", err)
			}
		})
	}
}

// malformed lists byte sequences a receiver must refuse, and the error it refuses them with.
var malformed = []struct {
	name string
	raw  []byte
	want error
}{
	{"bad magic", rawHeader(0x4d47, uint8(router.KindData), 0, 1, 2, 3, 4, 0), router.ErrBadMagic},
	{"too large", rawHeader(router.Magic, uint8(router.KindData), 0, 1, 2, 3, 4, router.DefaultMaxPayload+1), router.ErrTooLarge},
	{"length near 4 GiB", rawHeader(router.Magic, uint8(router.KindData), 0, 1, 2, 3, 4, 0xffffffff), router.ErrTooLarge},
	{"kind zero", rawHeader(router.Magic, 0, 0, 1, 2, 3, 4, 0), router.ErrUnknownKind},
	{"kind in the gap", rawHeader(router.Magic, 6, 0, 1, 2, 3, 4, 0), router.ErrUnknownKind},
	{"kind before open", rawHeader(router.Magic, 15, 0, 1, 2, 3, 4, 0), router.ErrUnknownKind},
	{"kind after stream request", rawHeader(router.Magic, 25, 0, 1, 2, 3, 4, 0), router.ErrUnknownKind},
	{"reserved flag 0x02", rawHeader(router.Magic, uint8(router.KindReply), 0x02, 1, 2, 3, 4, 0), router.ErrBadFlags},
	{"reserved flag 0x80 with error flag", rawHeader(router.Magic, uint8(router.KindClose), 0x81, 1, 2, 3, 4, 0), router.ErrBadFlags},
	{"truncated payload", append(rawHeader(router.Magic, uint8(router.KindData), 0, 1, 2, 3, 4, 100), make([]byte, 10)...), io.ErrUnexpectedEOF},
	{"truncated header", rawHeader(router.Magic, uint8(router.KindData), 0, 1, 2, 3, 4, 0)[:10], io.ErrUnexpectedEOF},
}

func TestReadMessageRefusesMalformed(t *testing.T) {
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			m, err := router.ReadMessage(bytes.NewReader(tt.raw), router.DefaultMaxPayload)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadMessage = %v, %v; want error %v", m, err, tt.want)
			}
			if m != nil {
				t.Errorf("got a message with the error: %v", m)
			}
		})
	}
}

// TestMalformedFrameTakesLinkDown feeds each malformed frame to a live link: the link must go
// down with that error and close its end of the connection.
func TestMalformedFrameTakesLinkDown(t *testing.T) {
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			rec := newRecorder(t)
			r := router.New(router.Config{ID: 0, Handler: rec})
			t.Cleanup(r.Close)
			ours, peer := socketPair(t)
			l := r.AddLink(ours, router.LinkConfig{Name: "peer", Peer: 2})
			if err := l.Err(); err != nil {
				t.Fatalf("link down before any input: %v", err)
			}
			if _, err := peer.Write(tt.raw); err != nil {
				t.Fatalf("write: %v", err)
			}
			if tt.want == io.ErrUnexpectedEOF {
				// The frame is cut short by the peer going away.
				peer.(interface{ CloseWrite() error }).CloseWrite()
			}
			select {
			case <-l.Done():
			case <-ctx.Done():
				t.Fatal("link still up after a malformed frame")
			}
			if err := l.Err(); !errors.Is(err, tt.want) {
				t.Errorf("Link.Err() = %v, want %v", err, tt.want)
			}
			// The router closed its end: the peer reads EOF, not a hang.
			if n, err := peer.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("peer read after link down = %d, %v; want io.EOF", n, err)
			}
			// The only thing the local handler hears is that the context behind the link is gone.
			if m := rec.next(ctx, t); m.Kind != router.KindDisconnect || m.Src != 2 {
				t.Errorf("malformed input delivered %v, want only Disconnect of context 2", m)
			}
		})
	}
}

func TestLinkDownReasons(t *testing.T) {
	tests := []struct {
		name    string
		act     func(t *testing.T, l *router.Link, peer io.ReadWriteCloser)
		wantIs  error  // checked with errors.Is when set
		wantSub string // checked against the message when set
	}{
		{"peer closes", func(t *testing.T, _ *router.Link, peer io.ReadWriteCloser) { peer.Close() }, nil, "closed by peer"},
		{"hello after handshake", func(t *testing.T, _ *router.Link, peer io.ReadWriteCloser) {
			if err := router.WriteHello(peer, router.Hello{ID: 5}); err != nil {
				t.Fatal(err)
			}
		}, nil, "unexpected hello"},
		{"local Close", func(t *testing.T, l *router.Link, _ io.ReadWriteCloser) { l.Close() }, router.ErrLinkClosed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			r := router.New(router.Config{ID: 0, Handler: newRecorder(t)})
			t.Cleanup(r.Close)
			ours, peer := socketPair(t)
			l := r.AddLink(ours, router.LinkConfig{Name: "peer", Peer: 2})
			tt.act(t, l, peer)
			select {
			case <-l.Done():
			case <-ctx.Done():
				t.Fatal("link still up")
			}
			err := l.Err()
			if err == nil {
				t.Fatal("Err() = nil after Done")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Err() = %v, want %v", err, tt.wantIs)
			}
			if tt.wantSub != "" && !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("Err() = %q, want it to mention %q", err, tt.wantSub)
			}
		})
	}
}

func TestHelloHandshake(t *testing.T) {
	// The child speaks first with no id; the parent answers with the id it assigns.
	parentEnd, childEnd := socketPair(t)
	type result struct {
		h   router.Hello
		err error
	}
	child := make(chan result, 1)
	go func() {
		if err := router.WriteHello(childEnd, router.Hello{Info: map[string]string{"os": "linux"}}); err != nil {
			child <- result{err: err}
			return
		}
		h, err := router.ReadHello(childEnd)
		child <- result{h, err}
	}()
	got, err := router.ReadHello(parentEnd)
	if err != nil {
		t.Fatalf("parent ReadHello: %v", err)
	}
	if got.Version != router.Version || got.ID != 0 || got.Info["os"] != "linux" {
		t.Errorf("child hello = %+v", got)
	}
	if err := router.WriteHello(parentEnd, router.Hello{ID: 42, Parent: 0}); err != nil {
		t.Fatalf("parent WriteHello: %v", err)
	}
	res := <-child
	if res.err != nil {
		t.Fatalf("child ReadHello: %v", res.err)
	}
	if res.h.ID != 42 || res.h.Parent != 0 || res.h.Version != router.Version {
		t.Errorf("parent hello = %+v, want id 42 parent 0", res.h)
	}

	// Both ends now carry routed frames over the same connection.
	ctx := testCtx(t)
	prec, crec := newRecorder(t), newRecorder(t)
	pr := router.New(router.Config{ID: 0, Handler: prec})
	cr := router.New(router.Config{ID: res.h.ID, Handler: crec})
	t.Cleanup(pr.Close)
	t.Cleanup(cr.Close)
	pr.AddLink(parentEnd, router.LinkConfig{Name: "child", Trusted: true, Peer: res.h.ID})
	cr.AddLink(childEnd, router.LinkConfig{Name: "parent", Parent: true, Trusted: true, Peer: res.h.Parent})
	if err := cr.Send(&router.Message{Header: router.Header{Kind: router.KindRequest, Dst: 0, Src: 42, Handle: 1, ReplyTo: 1025}, Payload: []byte("ping")}); err != nil {
		t.Fatal(err)
	}
	if m := prec.next(ctx, t); m.Src != 42 || string(m.Payload) != "ping" {
		t.Errorf("parent got %v %q", m, m.Payload)
	}
}

// frame encodes a frame with an otherwise zero header, as a Hello has.
func frame(kind router.Kind, body string) []byte {
	var b bytes.Buffer
	router.WriteMessage(&b, &router.Message{Header: router.Header{Kind: kind}, Payload: []byte(body)})
	return b.Bytes()
}

// helloRefusals are first frames ReadHello must refuse, with a part of the error it gives.
var helloRefusals = []struct {
	name string
	raw  []byte
	want string
}{
	{"other kind", frame(router.KindRequest, `{"version":2}`), "expected hello"},
	{"wrong version", frame(router.KindHello, `{"version":1,"id":3}`), "version 1"},
	{"not json", frame(router.KindHello, `hello`), "bad hello"},
	{"empty input", nil, "EOF"},
	{"over 64 KiB", frame(router.KindHello, `{"version":2,"info":{"x":"`+strings.Repeat("a", 64<<10)+`"}}`), router.ErrTooLarge.Error()},
}

func TestReadHelloRefuses(t *testing.T) {
	for _, tt := range helloRefusals {
		t.Run(tt.name, func(t *testing.T) {
			h, err := router.ReadHello(bytes.NewReader(tt.raw))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ReadHello = %+v, %v; want error mentioning %q", h, err, tt.want)
			}
		})
	}
}

func TestReadHelloReadsOneFrame(t *testing.T) {
	var b bytes.Buffer
	if err := router.WriteHello(&b, router.Hello{ID: 9, Parent: 0}); err != nil {
		t.Fatal(err)
	}
	next := router.Message{Header: router.Header{Kind: router.KindRequest, Dst: 9, Handle: 3}, Payload: []byte("after")}
	router.WriteMessage(&b, &next)
	if _, err := router.ReadHello(&b); err != nil {
		t.Fatal(err)
	}
	m, err := router.ReadMessage(&b, router.DefaultMaxPayload)
	if err != nil {
		t.Fatalf("frame after hello: %v", err)
	}
	if !reflect.DeepEqual(*m, next) {
		t.Errorf("frame after hello = %v, want %v", m, &next)
	}
}

// TestSpecExamples encodes the worked examples of spec.md and checks the document shows
// exactly these bytes, so the specification cannot drift from the code.
func TestSpecExamples(t *testing.T) {
	spec, err := os.ReadFile("spec.md")
	if err != nil {
		t.Fatalf("reading spec: %v", err)
	}
	openPayload := append([]byte{0x00, 0x20, 0x00, 0x00}, `{"command":"id"}`...)
	tests := []struct {
		name string
		msg  router.Message
		hex  string
	}{
		{"open", router.Message{Header: router.Header{Kind: router.KindOpen, Dst: 2, Src: 1, Handle: 16, ReplyTo: 1025}, Payload: openPayload},
			"6d6710000000000200000001000000100000040100000014002000007b22636f6d6d616e64223a226964227d"},
		{"data", router.Message{Header: router.Header{Kind: router.KindData, Dst: 1, Src: 2, Handle: 1025, ReplyTo: 1025}, Payload: []byte("hi\n")},
			"6d671300000000010000000200000401000004010000000368690a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := router.WriteMessage(&b, &tt.msg); err != nil {
				t.Fatal(err)
			}
			got := hex.EncodeToString(b.Bytes())
			if got != tt.hex {
				t.Errorf("encoding = %s\nwant       %s", got, tt.hex)
			}
			if !bytes.Contains(spec, []byte(got)) {
				t.Errorf("spec.md does not show the %s frame as %s", tt.name, got)
			}
		})
	}
}
