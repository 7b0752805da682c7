package router_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mitogen-go/mitogend/router"
)

// helloMax is the payload limit spec.md section 2 sets for a Hello.
const helloMax = 64 << 10

// specKinds are the kinds of spec.md section 1's table, written out rather than taken from the
// package so that the fuzzers check the document.
var specKinds = map[byte]bool{1: true, 2: true, 3: true, 4: true, 5: true,
	16: true, 17: true, 18: true, 19: true, 20: true, 21: true, 22: true, 23: true, 24: true}

// specFrame decodes the frame at the start of b as spec.md section 1 says a receiver with limit
// max must: it returns the frame's length in bytes, or the error the receiver refuses it with.
func specFrame(b []byte, max int) (int, error) {
	switch {
	case len(b) == 0:
		return 0, io.EOF
	case len(b) < router.HeaderSize:
		return 0, io.ErrUnexpectedEOF
	case binary.BigEndian.Uint16(b) != 0x6d67:
		return 0, router.ErrBadMagic
	case !specKinds[b[2]]:
		return 0, router.ErrUnknownKind
	case b[3]&0xfe != 0:
		return 0, router.ErrBadFlags
	}
	n := binary.BigEndian.Uint32(b[20:])
	if uint64(n) > uint64(max) {
		return 0, router.ErrTooLarge
	}
	if uint64(len(b)) < router.HeaderSize+uint64(n) {
		return 0, io.ErrUnexpectedEOF
	}
	return router.HeaderSize + int(n), nil
}

// frameSeeds are the byte streams of the frame and hello tests: every well-formed and every
// malformed frame, the spec's worked examples, and a few of them run together.
func frameSeeds() [][]byte {
	var seeds [][]byte
	var all bytes.Buffer
	for _, tc := range roundTripCases {
		if len(tc.msg.Payload) > 4<<10 {
			continue // the fuzzers read with small limits; a header claiming the length is enough
		}
		var b bytes.Buffer
		router.WriteMessage(&b, &tc.msg)
		seeds = append(seeds, b.Bytes())
		all.Write(b.Bytes())
	}
	seeds = append(seeds, all.Bytes())
	for _, tc := range malformed {
		seeds = append(seeds, tc.raw, append(bytes.Clone(all.Bytes()), tc.raw...))
	}
	for _, tc := range helloRefusals {
		if len(tc.raw) <= 4<<10 {
			seeds = append(seeds, tc.raw)
		}
	}
	var hello bytes.Buffer
	router.WriteHello(&hello, router.Hello{ID: 42, Info: map[string]string{"os": "linux", "pid": "4242"}})
	seeds = append(seeds, hello.Bytes(), append(bytes.Clone(hello.Bytes()), all.Bytes()...))
	for _, h := range []string{
		"6d6710000000000200000001000000100000040100000014002000007b22636f6d6d616e64223a226964227d",
		"6d671300000000010000000200000401000004010000000368690a",
	} {
		b, _ := hex.DecodeString(h)
		seeds = append(seeds, b)
	}
	return seeds
}

// FuzzReadMessage reads frames from arbitrary bytes until the first error. Every frame it
// accepts fits the limit and re-encodes to exactly the bytes it consumed; every refusal is the
// error spec.md section 1 gives for the first bad header field, checked in the spec's order.
func FuzzReadMessage(f *testing.F) {
	for _, s := range frameSeeds() {
		f.Add(s, uint8(64))
	}
	for _, tc := range roundTripCases[:4] {
		var b bytes.Buffer
		router.WriteMessage(&b, &tc.msg)
		f.Add(b.Bytes(), uint8(len(tc.msg.Payload))) // length equal to the limit is allowed
	}
	f.Fuzz(func(t *testing.T, data []byte, limit uint8) {
		max := int(limit)
		r := bytes.NewReader(data)
		for off := 0; ; {
			n, want := specFrame(data[off:], max)
			m, err := router.ReadMessage(r, max)
			if want != nil {
				if !errors.Is(err, want) || m != nil {
					t.Fatalf("frame at %d: ReadMessage = %v, %v; want error %v", off, m, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("frame at %d: ReadMessage refused a well-formed frame: %v", off, err)
			}
			if len(m.Payload) > max || cap(m.Payload) > max {
				t.Fatalf("frame at %d: payload of %d bytes (cap %d) over the limit %d", off, len(m.Payload), cap(m.Payload), max)
			}
			consumed := len(data) - r.Len() - off
			var again bytes.Buffer
			if err := router.WriteMessage(&again, m); err != nil {
				t.Fatal(err)
			}
			if consumed != n || !bytes.Equal(again.Bytes(), data[off:off+n]) {
				t.Fatalf("frame at %d: consumed %d bytes, re-encodes to %x, read %x", off, consumed, again.Bytes(), data[off:off+n])
			}
			off += n
		}
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzReadHello checks that ReadHello reads exactly one frame of at most 64 KiB and nothing
// more, and accepts only a Hello whose payload is a JSON object with version 1.
func FuzzReadHello(f *testing.F) {
	for _, s := range frameSeeds() {
		f.Add(s)
	}
	for _, body := range []string{`{"version":2,"id":7,"parent":0}`, `{"version":2,"info":{}}`, `null`,
		`{"version":2.0}`, `{"Version":1}`, `{"version":1,"version":2}`, `{"version":2,"id":-1}`} {
		f.Add(frame(router.KindHello, body))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countingReader{r: bytes.NewReader(data)}
		h, err := router.ReadHello(cr)
		n, want := specFrame(data, helloMax)
		if want != nil {
			if !errors.Is(err, want) {
				t.Fatalf("ReadHello = %+v, %v; want error %v", h, err, want)
			}
			if cr.n > router.HeaderSize+helloMax {
				t.Fatalf("read %d bytes of a refused frame", cr.n)
			}
			return
		}
		if cr.n != n {
			t.Fatalf("read %d bytes, the first frame has %d", cr.n, n)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "router: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
			return
		}
		payload := data[router.HeaderSize:n]
		if data[2] != byte(router.KindHello) {
			t.Fatalf("accepted kind %d as a hello", data[2])
		}
		if v, ok := lastMember(payload, "version"); !ok || v != strconv.Itoa(router.Version) || h.Version != router.Version {
			t.Fatalf("accepted %q (version member %q, object %v) as version %d", payload, v, ok, h.Version)
		}
		// What was accepted survives our own encoding unchanged.
		var b bytes.Buffer
		if err := router.WriteHello(&b, h); err != nil {
			t.Fatalf("WriteHello(%+v): %v", h, err)
		}
		back, err := router.ReadHello(&b)
		if len(h.Info) == 0 {
			h.Info = nil // omitted when empty
		}
		if err != nil || !reflect.DeepEqual(back, h) {
			t.Fatalf("hello %+v came back as %+v, %v", h, back, err)
		}
	})
}

// lastMember returns the raw value of the last member of the JSON object b whose name matches
// name as encoding/json matches struct fields (case-insensitively); ok is false when b is not
// one valid JSON object.
func lastMember(b []byte, name string) (value string, ok bool) {
	if !json.Valid(b) {
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", false
		}
		if strings.EqualFold(key.(string), name) {
			value = string(raw)
		}
	}
	return value, true
}
