package sftpserver

import (
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// testClient is a minimal SFTP client that speaks to Serve over in-memory pipes, one request at
// a time, so that each test can send exactly the bytes it wants.
type testClient struct {
	t    *testing.T
	w    *io.PipeWriter // the server's input
	r    *io.PipeReader // the server's output
	id   uint32
	exts map[string]string
	done chan error // Serve's result
}

// startServer runs Serve on pipes without the INIT exchange.
func startServer(t *testing.T, c Config) *testClient {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	tc := &testClient{t: t, w: inW, r: outR, done: make(chan error, 1)}
	go func() {
		err := Serve(inR, outW, c)
		inR.CloseWithError(errors.New("server returned"))
		outW.Close()
		tc.done <- err
	}()
	t.Cleanup(func() { inW.Close(); outR.Close(); <-tc.done })
	return tc
}

// newClient starts a session in dir and completes INIT/VERSION.
func newClient(t *testing.T, dir string) *testClient {
	t.Helper()
	c := startServer(t, Config{Dir: dir})
	c.send(fxpInit, uint32(3))
	typ, d := c.recv()
	if typ != fxpVersion || d.uint32() != 3 {
		t.Fatalf("reply to INIT: type %d, want VERSION 3", typ)
	}
	c.exts = map[string]string{}
	for len(d.b) > 0 {
		name, ver := d.string(), d.string()
		c.exts[name] = ver
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
	return c
}

// encode appends fields: uint32, uint64, string, []byte (as strings) and attrs.
func encode(b []byte, fields ...any) []byte {
	for _, f := range fields {
		switch v := f.(type) {
		case uint32:
			b = appendUint32(b, v)
		case uint64:
			b = appendUint64(b, v)
		case string:
			b = appendString(b, v)
		case []byte:
			b = appendBytes(b, v)
		case attrs:
			b = appendAttrs(b, v)
		default:
			panic("encode: unsupported field")
		}
	}
	return b
}

// send writes one packet of type typ with the given fields.
func (c *testClient) send(typ byte, fields ...any) {
	c.t.Helper()
	body := encode([]byte{typ}, fields...)
	c.sendRaw(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...))
}

func (c *testClient) sendRaw(b []byte) {
	c.t.Helper()
	if _, err := c.w.Write(b); err != nil {
		c.t.Fatalf("write to server: %v (server: %v)", err, c.result())
	}
}

func (c *testClient) recv() (byte, *decoder) {
	c.t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		c.t.Fatalf("read reply: %v (server: %v)", err, c.result())
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c.r, body); err != nil {
		c.t.Fatalf("read reply body: %v", err)
	}
	return body[0], &decoder{b: body[1:]}
}

// result ends the session and returns what Serve returned.
func (c *testClient) result() error {
	c.w.Close()
	return c.wait()
}

// wait returns what Serve returned, discarding its replies.
func (c *testClient) wait() error {
	go io.Copy(io.Discard, c.r)
	err := <-c.done
	c.done <- err
	return err
}

// call sends a request with a fresh id and returns the reply after checking its id.
func (c *testClient) call(typ byte, fields ...any) (byte, *decoder) {
	c.t.Helper()
	c.id++
	c.send(typ, append([]any{c.id}, fields...)...)
	rt, d := c.recv()
	if id := d.uint32(); id != c.id {
		c.t.Fatalf("reply id %d, want %d", id, c.id)
	}
	return rt, d
}

// status calls and returns the STATUS code of the reply.
func (c *testClient) status(typ byte, fields ...any) uint32 {
	c.t.Helper()
	rt, d := c.call(typ, fields...)
	if rt != fxpStatus {
		c.t.Fatalf("request %d: reply type %d, want STATUS", typ, rt)
	}
	return d.uint32()
}

func (c *testClient) mustOK(typ byte, fields ...any) {
	c.t.Helper()
	if code := c.status(typ, fields...); code != fxOK {
		c.t.Fatalf("request %d %v: status %d (%s), want OK", typ, fields[0], code, statusMessage(code))
	}
}

// handle calls a request that returns a handle; code is the status if it did not.
func (c *testClient) handle(typ byte, fields ...any) (h string, code uint32) {
	c.t.Helper()
	rt, d := c.call(typ, fields...)
	switch rt {
	case fxpHandle:
		return d.string(), fxOK
	case fxpStatus:
		return "", d.uint32()
	}
	c.t.Fatalf("request %d: reply type %d", typ, rt)
	return "", 0
}

func (c *testClient) mustHandle(typ byte, fields ...any) string {
	c.t.Helper()
	h, code := c.handle(typ, fields...)
	if code != fxOK {
		c.t.Fatalf("request %d %v: status %d, want a handle", typ, fields[0], code)
	}
	return h
}

// attrs calls a request that returns ATTRS.
func (c *testClient) attrs(typ byte, fields ...any) (attrs, uint32) {
	c.t.Helper()
	rt, d := c.call(typ, fields...)
	switch rt {
	case fxpAttrs:
		return d.attrs(), fxOK
	case fxpStatus:
		return attrs{}, d.uint32()
	}
	c.t.Fatalf("request %d: reply type %d", typ, rt)
	return attrs{}, 0
}

type nameEntry struct {
	name, long string
	a          attrs
}

// names calls a request that returns NAME.
func (c *testClient) names(typ byte, fields ...any) ([]nameEntry, uint32) {
	c.t.Helper()
	rt, d := c.call(typ, fields...)
	if rt == fxpStatus {
		return nil, d.uint32()
	}
	if rt != fxpName {
		c.t.Fatalf("request %d: reply type %d", typ, rt)
	}
	n := d.uint32()
	var out []nameEntry
	for i := uint32(0); i < n && d.err == nil; i++ {
		out = append(out, nameEntry{d.string(), d.string(), d.attrs()})
	}
	if d.err != nil {
		c.t.Fatal(d.err)
	}
	return out, fxOK
}

// readAll reads a file handle from offset 0 in chunks until EOF.
func (c *testClient) readAll(h string, chunk uint32) []byte {
	c.t.Helper()
	var data []byte
	for {
		rt, d := c.call(fxpRead, h, uint64(len(data)), chunk)
		if rt == fxpStatus {
			if code := d.uint32(); code != fxEOF {
				c.t.Fatalf("read: status %d", code)
			}
			return data
		}
		data = append(data, d.bytes()...)
	}
}
