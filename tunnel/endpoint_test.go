package tunnel

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/router"
)

func TestCall(t *testing.T) {
	tests := []struct {
		name    string
		dst     router.ID
		handle  uint32
		payload string
		want    string // reply payload when check is nil
		check   func(t *testing.T, err error)
	}{
		{name: "reply", dst: 0, handle: callEcho, payload: "ping", want: "\x01ping"},
		{name: "empty reply", dst: 0, handle: callEcho, want: "\x01"},
		{name: "handler error", dst: 0, handle: callFail, payload: "x", check: func(t *testing.T, err error) {
			var re *RemoteError
			if !errors.As(err, &re) || re.Msg != "svc: refused x" {
				t.Errorf("err = %#v, want *RemoteError with the handler's text", err)
			}
		}},
		{name: "no such service", dst: 0, handle: noSuchSvc, check: func(t *testing.T, err error) {
			var re *RemoteError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), ErrNoService.Error()) || !strings.Contains(err.Error(), fmt.Sprint(noSuchSvc)) {
				t.Errorf("err = %v, want a RemoteError mentioning %q and the handle", err, ErrNoService)
			}
		}},
		{name: "no such context", dst: 42, handle: callEcho, check: func(t *testing.T, err error) {
			if !errors.Is(err, ErrDisconnected) || !strings.Contains(err.Error(), "no route") {
				t.Errorf("err = %v, want ErrDisconnected from a Dead notice", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			p := newPair(t, pairOpts{})
			p.srv.HandleCall(callFail, func(_ context.Context, _ router.ID, b []byte) ([]byte, error) {
				return []byte("partial"), fmt.Errorf("svc: refused %s", b)
			})
			got, err := p.cli.Call(ctx, tt.dst, tt.handle, []byte(tt.payload))
			if tt.check != nil {
				if err == nil {
					t.Fatalf("Call = %q, want an error", got)
				}
				tt.check(t, err)
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("Call = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestCallContextCancelled(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	entered := make(chan struct{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	p.srv.HandleCall(callBlock, func(context.Context, router.ID, []byte) ([]byte, error) {
		close(entered)
		<-release
		return nil, nil
	})
	callCtx, cancel := context.WithCancelCause(ctx)
	cause := errors.New("user hit ^C")
	errc := make(chan error, 1)
	go func() {
		_, err := p.cli.Call(callCtx, 0, callBlock, nil)
		errc <- err
	}()
	<-entered
	cancel(cause)
	if err := <-errc; !errors.Is(err, cause) {
		t.Errorf("Call = %v, want the cancellation cause", err)
	}
	p.cli.mu.Lock()
	n := len(p.cli.calls)
	p.cli.mu.Unlock()
	if n != 0 {
		t.Errorf("%d calls still registered after Call returned", n)
	}
}

func TestConcurrentCalls(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	const calls = 200
	errs := make(chan error, calls)
	for i := range calls {
		go func() {
			want := fmt.Sprintf("call %d", i)
			got, err := p.cli.Call(ctx, 0, callEcho, []byte(want))
			if err == nil && string(got) != "\x01"+want {
				err = fmt.Errorf("call %d answered %q: replies crossed", i, got)
			}
			errs <- err
		}()
	}
	for range calls {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestDisconnectFailsStreamsAndCalls closes the link between two neighbours: everything open
// across it must fail with ErrDisconnected on both sides, and nothing may hang.
func TestDisconnectFailsStreamsAndCalls(t *testing.T) {
	tests := []struct {
		name  string
		close func(p *pair)
	}{
		{"client closes its link", func(p *pair) { p.cliLink.Close() }},
		{"server closes its link", func(p *pair) { p.srvLink.Close() }},
		{"server router closes", func(p *pair) { p.srvR.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			p := newPair(t, pairOpts{})
			srvStream := make(chan *Stream, 1)
			srvRead := make(chan error, 1)
			p.listen(svcTest, func(s *Stream, _ []byte) {
				srvStream <- s
				_, err := io.Copy(io.Discard, s)
				srvRead <- err
			})
			entered := make(chan struct{})
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			p.srv.HandleCall(callBlock, func(context.Context, router.ID, []byte) ([]byte, error) {
				close(entered)
				<-release
				return []byte("too late"), nil
			})

			s, err := p.cli.Open(ctx, 0, svcTest, nil)
			if err != nil {
				t.Fatal(err)
			}
			<-srvStream
			callErr := make(chan error, 1)
			go func() {
				_, err := p.cli.Call(ctx, 0, callBlock, nil)
				callErr <- err
			}()
			<-entered
			cliRead := make(chan error, 1)
			go func() {
				_, err := s.Read(make([]byte, 10))
				cliRead <- err
			}()

			tt.close(p)

			for _, c := range []struct {
				what string
				ch   chan error
			}{{"client Read", cliRead}, {"pending Call", callErr}, {"server Read", srvRead}} {
				select {
				case err := <-c.ch:
					if !errors.Is(err, ErrDisconnected) {
						t.Errorf("%s = %v, want ErrDisconnected", c.what, err)
					}
				case <-ctx.Done():
					t.Fatalf("%s still blocked after the link closed", c.what)
				}
			}
			if _, err := s.Write([]byte("x")); !errors.Is(err, ErrDisconnected) {
				t.Errorf("client Write after disconnect = %v, want ErrDisconnected", err)
			}
			waitUntil(ctx, t, p.ev, "both sides to drop their streams", p.bothIdle)
		})
	}
}

// tree3 is a root (0) with a trusted client (1) and an untrusted target (2), each with an
// endpoint: the daemon, fakessh and an agent.
type tree3 struct {
	root, client, target    *Endpoint
	rootR, clientR, targetR *router.Router
	clientUp, targetDown    *router.Link
	ev                      events
}

func newTree3(t testing.TB) *tree3 {
	tr := &tree3{ev: make(events, 1)}
	logf := testLogf(t)
	mk := func(id router.ID) (*Endpoint, *router.Router) {
		ep := NewEndpoint(logf)
		r := router.New(router.Config{ID: id, Handler: &tap{next: ep, ev: tr.ev}})
		ep.Attach(r)
		t.Cleanup(r.Close)
		return ep, r
	}
	tr.root, tr.rootR = mk(0)
	tr.client, tr.clientR = mk(1)
	tr.target, tr.targetR = mk(2)
	a, b := socketPair(t)
	tr.rootR.AddLink(a, router.LinkConfig{Name: "client", Trusted: true, Peer: 1})
	tr.clientUp = tr.clientR.AddLink(b, router.LinkConfig{Name: "daemon", Parent: true, Trusted: true, Peer: 0})
	a, b = socketPair(t)
	tr.targetDown = tr.rootR.AddLink(a, router.LinkConfig{Name: "target", Peer: 2})
	tr.targetR.AddLink(b, router.LinkConfig{Name: "parent", Parent: true, Trusted: true, Peer: 0})
	return tr
}

func TestThroughRoot(t *testing.T) {
	ctx := testCtx(t)
	tr := newTree3(t)
	tr.target.Listen(svcEcho, func(s *Stream, _ []byte) {
		defer s.Close()
		io.Copy(s, s)
		s.CloseWrite()
	})
	tr.client.Listen(svcEcho, func(s *Stream, _ []byte) { s.Close() })
	s, err := tr.client.Open(ctx, 2, svcEcho, nil)
	if err != nil {
		t.Fatalf("client opens on target: %v", err)
	}
	msg := randBytes(3, 3<<20)
	go func() { s.Write(msg); s.CloseWrite() }()
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, msg) {
		t.Errorf("echo through the root: %d bytes, err %v", len(got), err)
	}
	s.Close()
	// A target may open on the client (the controller side), e.g. for forwarding.
	back, err := tr.target.Open(ctx, 1, svcEcho, nil)
	if err != nil {
		t.Errorf("target opens on client: %v", err)
	} else {
		back.Close()
	}
	waitUntil(ctx, t, tr.ev, "streams to be forgotten", func() bool {
		return tr.client.Streams() == 0 && tr.target.Streams() == 0 && tr.root.Streams() == 0
	})
}

// TestDisconnectThroughRoot checks streams and calls to a context that is not a neighbour.
func TestDisconnectThroughRoot(t *testing.T) {
	tests := []struct {
		name  string
		close func(tr *tree3)
	}{
		// The root floods a Disconnect for context 2 to the client.
		{"target's link dies", func(tr *tree3) { tr.targetDown.Close() }},
		// The client loses its only way to context 2: the parent link. Context 2 is reached by
		// the default route, not a route table entry.
		{"client's parent link dies", func(tr *tree3) { tr.clientUp.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			tr := newTree3(t)
			accepted := make(chan struct{})
			tr.target.Listen(svcTest, func(s *Stream, _ []byte) {
				close(accepted)
				io.Copy(io.Discard, s)
				s.Close()
			})
			entered := make(chan struct{})
			release := make(chan struct{})
			t.Cleanup(func() { close(release) })
			tr.target.HandleCall(callBlock, func(context.Context, router.ID, []byte) ([]byte, error) {
				close(entered)
				<-release
				return nil, nil
			})
			s, err := tr.client.Open(ctx, 2, svcTest, nil)
			if err != nil {
				t.Fatal(err)
			}
			<-accepted
			callErr := make(chan error, 1)
			go func() {
				_, err := tr.client.Call(ctx, 2, callBlock, nil)
				callErr <- err
			}()
			<-entered
			readErr := make(chan error, 1)
			go func() {
				_, err := s.Read(make([]byte, 1))
				readErr <- err
			}()

			tt.close(tr)

			// Disconnects are handled as the link goes down; a few seconds is ample even under
			// -race, and keeps a hang from costing the whole test timeout twice.
			after, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			for _, c := range []struct {
				what string
				ch   chan error
			}{{"client Read", readErr}, {"pending Call", callErr}} {
				select {
				case err := <-c.ch:
					if !errors.Is(err, ErrDisconnected) {
						t.Errorf("%s = %v, want ErrDisconnected", c.what, err)
					}
				case <-after.Done():
					t.Errorf("%s still blocked after the path to context 2 closed", c.what)
				}
			}
		})
	}
}

// TestProtocolViolations drives an endpoint with hand-made frames. Each violation must fail
// the stream locally with the right error and reset it towards the peer (Close + FlagError).
func TestProtocolViolations(t *testing.T) {
	data := func(n int) *router.Message {
		return &router.Message{Header: router.Header{Kind: router.KindData}, Payload: make([]byte, n)}
	}
	ext := func(n int) *router.Message {
		return &router.Message{Header: router.Header{Kind: router.KindExtData}, Payload: make([]byte, n)}
	}
	half := DefaultWindow / 2
	tests := []struct {
		name       string
		maxPayload int
		frames     []*router.Message
		wantIs     error  // the local stream's error, by errors.Is
		wantText   string // or by its text
		wantRead   int    // bytes the service can still read before the error
	}{
		{"single data frame beyond the window", 2 * DefaultWindow, []*router.Message{data(DefaultWindow + 1)}, ErrWindowExceeded, "", 0},
		{"single ext frame beyond the window", 2 * DefaultWindow, []*router.Message{ext(DefaultWindow + 1)}, ErrWindowExceeded, "", 0},
		{"cumulative overrun", DefaultWindow, []*router.Message{data(half), data(half), data(1)}, ErrWindowExceeded, "", DefaultWindow},
		{"stdout and stderr share the window", DefaultWindow, []*router.Message{data(half), ext(half), data(1)}, ErrWindowExceeded, "", half},
		{"window frame of 3 bytes", 0, []*router.Message{{Header: router.Header{Kind: router.KindWindow}, Payload: []byte{0, 0, 1}}}, nil, "bad window frame", 0},
		{"request without NUL", 0, []*router.Message{{Header: router.Header{Kind: router.KindStreamRequest}, Payload: []byte("exit-status")}}, nil, "malformed stream request", 0},
		{"request with empty name", 0, []*router.Message{{Header: router.Header{Kind: router.KindStreamRequest}, Payload: []byte("\x00TERM")}}, nil, "malformed stream request", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			rp := newRawPeer(t, tt.maxPayload)
			proceed := make(chan struct{})
			type result struct {
				n   int64
				err error
			}
			res := make(chan result, 1)
			rp.srv.Listen(svcTest, func(s *Stream, _ []byte) {
				defer s.Close()
				<-proceed // read nothing, so no grant reopens the window
				n, err := io.Copy(io.Discard, s)
				res <- result{n, err}
			})
			h := rp.open(ctx, t, svcTest, DefaultWindow)
			for _, m := range tt.frames {
				rp.send(t, m.Kind, 0, h, rawHandle, m.Payload)
			}
			before := rp.sync(ctx, t)
			close(proceed)
			r := <-res

			if tt.wantIs != nil && !errors.Is(r.err, tt.wantIs) {
				t.Errorf("service read error = %v, want %v", r.err, tt.wantIs)
			}
			if tt.wantText != "" && (r.err == nil || !strings.Contains(r.err.Error(), tt.wantText)) {
				t.Errorf("service read error = %v, want one mentioning %q", r.err, tt.wantText)
			}
			if r.n != int64(tt.wantRead) {
				t.Errorf("service read %d bytes before the error, want %d", r.n, tt.wantRead)
			}
			if n := rp.srv.Streams(); n != 0 {
				t.Errorf("endpoint still holds %d streams after the reset", n)
			}

			var reset *router.Message
			for _, m := range before {
				if m.Kind == router.KindClose && m.Handle == rawHandle {
					reset = m
				}
			}
			switch {
			case reset == nil:
				t.Errorf("BUG: peer was never told of the reset: no Close frame before the sync reply (got %v)", before)
			case reset.Flags&router.FlagError == 0 || (tt.wantText != "" && !strings.Contains(string(reset.Payload), tt.wantText)):
				t.Errorf("reset = %v %q, want Close with FlagError and the reason", reset, reset.Payload)
			}
		})
	}
}

func TestWindowWithinLimitIsAccepted(t *testing.T) {
	ctx := testCtx(t)
	rp := newRawPeer(t, DefaultWindow)
	proceed := make(chan struct{})
	got := make(chan int64, 1)
	rp.srv.Listen(svcTest, func(s *Stream, _ []byte) {
		defer s.Close()
		<-proceed
		n, err := io.Copy(io.Discard, s)
		if err != nil {
			n = -1
		}
		got <- n
	})
	h := rp.open(ctx, t, svcTest, DefaultWindow)
	half := make([]byte, DefaultWindow/2)
	rp.send(t, router.KindData, 0, h, rawHandle, half)
	rp.send(t, router.KindExtData, 0, h, rawHandle, half) // exactly one window, no grant yet
	rp.send(t, router.KindData, 0, h, rawHandle, nil)     // empty frames cost nothing
	rp.send(t, router.KindEOF, 0, h, rawHandle, nil)
	for _, m := range rp.sync(ctx, t) {
		t.Errorf("unexpected frame while filling the window exactly: %v %q", m, m.Payload)
	}
	close(proceed)
	if n := <-got; n != DefaultWindow/2 {
		t.Errorf("service read %d stdout bytes, want %d", n, DefaultWindow/2)
	}
}

// TestWindowGrants checks that the receiver grants consumed bytes back only once a quarter of
// its window is consumed, never in smaller pieces, and never loses or invents a byte.
func TestWindowGrants(t *testing.T) {
	ctx := testCtx(t)
	rp := newRawPeer(t, 0)
	readN := make(chan int)
	readDone := make(chan error, 1)
	accepted := make(chan *Stream, 1)
	rp.srv.Listen(svcTest, func(s *Stream, _ []byte) {
		defer s.Close()
		accepted <- s
		for n := range readN {
			_, err := io.ReadFull(s, make([]byte, n))
			readDone <- err
		}
	})
	t.Cleanup(func() { close(readN) })
	h := rp.open(ctx, t, svcTest, DefaultWindow)
	srvStream := <-accepted
	due := DefaultWindow / grantFraction
	steps := []struct {
		name       string
		send, read int
		exact      []uint32 // when set, exactly these grants
	}{
		{"just under a quarter consumed", due - 1, due - 1, []uint32{}},
		{"a quarter consumed", 1, 1, []uint32{uint32(due)}},
		{"a full window again after the grant", DefaultWindow, DefaultWindow - 10, nil},
		{"small reads accumulate", 0, 10, nil},
	}
	var consumed, granted uint64
	for _, st := range steps {
		for sent := 0; sent < st.send; {
			n := min(st.send-sent, 512<<10)
			rp.send(t, router.KindData, 0, h, rawHandle, make([]byte, n))
			sent += n
		}
		readN <- st.read
		if err := <-readDone; err != nil {
			t.Fatalf("%s: service read: %v", st.name, err)
		}
		consumed += uint64(st.read)
		var wins []uint32
		for _, m := range rp.sync(ctx, t) {
			if m.Kind != router.KindWindow || m.Handle != rawHandle || m.ReplyTo != h || len(m.Payload) != 4 {
				t.Fatalf("%s: unexpected frame %v %q", st.name, m, m.Payload)
			}
			wins = append(wins, binary.BigEndian.Uint32(m.Payload))
		}
		for _, w := range wins {
			granted += uint64(w)
			if w < uint32(due) {
				t.Errorf("%s: grant of %d is smaller than a quarter window", st.name, w)
			}
		}
		if st.exact != nil && fmt.Sprint(wins) != fmt.Sprint(st.exact) {
			t.Errorf("%s: grants %v, want %v", st.name, wins, st.exact)
		}
		srvStream.mu.Lock()
		unacked := uint64(srvStream.unacked)
		srvStream.mu.Unlock()
		if granted+unacked != consumed || unacked >= uint64(due) {
			t.Errorf("%s: consumed %d, granted %d, owed %d: grants must cover all but less than a quarter window",
				st.name, consumed, granted, unacked)
		}
	}
}

func TestRawCloseIsAnswered(t *testing.T) {
	tests := []struct {
		name    string
		flags   uint8
		payload string
		wantErr string // the service's read error text; "" means io.EOF
	}{
		{"clean close", 0, "", ""},
		{"reset", router.FlagError, "peer: broken pipe", "peer: broken pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			rp := newRawPeer(t, 0)
			readErr := make(chan error, 1)
			rp.srv.Listen(svcTest, func(s *Stream, _ []byte) {
				_, err := s.Read(make([]byte, 1))
				s.Close() // already answered: must not send a second Close
				readErr <- err
			})
			h := rp.open(ctx, t, svcTest, DefaultWindow)
			rp.send(t, router.KindClose, tt.flags, h, rawHandle, []byte(tt.payload))
			err := <-readErr
			switch {
			case tt.wantErr == "" && err != io.EOF:
				t.Errorf("service Read = %v, want io.EOF", err)
			case tt.wantErr != "":
				var re *RemoteError
				if !errors.As(err, &re) || re.Msg != tt.wantErr {
					t.Errorf("service Read = %#v, want RemoteError %q", err, tt.wantErr)
				}
			}
			closes := 0
			for _, m := range rp.sync(ctx, t) {
				if m.Kind != router.KindClose || m.Handle != rawHandle || m.ReplyTo != h || m.Flags != 0 || len(m.Payload) != 0 {
					t.Errorf("unexpected frame %v %q", m, m.Payload)
				}
				closes++
			}
			if closes != 1 {
				t.Errorf("endpoint answered Close with %d Close frames, want 1", closes)
			}
			waitUntil(ctx, t, rp.ev, "the endpoint to forget the stream", func() bool { return rp.srv.Streams() == 0 })
		})
	}
}

func TestOpenWithoutWindowRefused(t *testing.T) {
	ctx := testCtx(t)
	rp := newRawPeer(t, 0)
	rp.srv.Listen(svcTest, func(s *Stream, _ []byte) { s.Close() })
	rp.send(t, router.KindOpen, 0, svcTest, rawHandle, []byte{0, 1})
	m := rp.rec.next(ctx, t)
	if m.Kind != router.KindOpenFail || m.Flags != router.FlagError || m.Handle != rawHandle || !strings.Contains(string(m.Payload), "without window") {
		t.Errorf("answer = %v %q, want OpenFail with FlagError", m, m.Payload)
	}
	if n := rp.srv.Streams(); n != 0 {
		t.Errorf("refused open left %d streams", n)
	}
}
