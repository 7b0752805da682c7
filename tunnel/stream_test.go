package tunnel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/mitogen-go/mitogend/router"
)

func TestEcho16MiB(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	if err := echoTransfer(ctx, p, 16<<20, 1); err != nil {
		t.Fatal(err)
	}
	waitUntil(ctx, t, p.ev, "both sides to forget the stream", p.bothIdle)
}

func TestStderrKeptSeparate(t *testing.T) {
	tests := []struct {
		name      string
		out, errN int
	}{
		{"both larger than a window", 3 << 20, 5<<20 + 17},
		{"stdout only", 1 << 20, 0},
		{"stderr only", 0, 1<<20 + 1},
		{"tiny", 3, 5},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			p := newPair(t, pairOpts{})
			seed := uint64(100 + 2*i)
			s, err := p.cli.Open(ctx, 0, svcSplit, splitRequestPayload(tt.out, tt.errN, seed))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// Both substreams share one window: they must be read concurrently.
			var wg sync.WaitGroup
			var out, errb bytes.Buffer
			var outErr, errErr error
			wg.Add(2)
			go func() { defer wg.Done(); _, outErr = io.Copy(&out, s) }()
			go func() { defer wg.Done(); _, errErr = io.Copy(&errb, s.Stderr()) }()
			wg.Wait()
			if outErr != nil || errErr != nil {
				t.Fatalf("reading: stdout %v, stderr %v", outErr, errErr)
			}
			if !bytes.Equal(out.Bytes(), randBytes(seed, tt.out)) {
				t.Errorf("stdout: %d bytes, not the %d written to stdout", out.Len(), tt.out)
			}
			if !bytes.Equal(errb.Bytes(), randBytes(seed+1, tt.errN)) {
				t.Errorf("stderr: %d bytes, not the %d written to stderr", errb.Len(), tt.errN)
			}
		})
	}
}

func TestEOFPropagation(t *testing.T) {
	t.Run("client half-closes", func(t *testing.T) {
		ctx := testCtx(t)
		p := newPair(t, pairOpts{})
		got := make(chan []byte, 1)
		p.listen(svcTest, func(s *Stream, _ []byte) {
			b, err := io.ReadAll(s) // ends at EOF, not at Close
			if err != nil {
				got <- nil
				return
			}
			got <- slices.Clone(b)
			slices.Reverse(b)
			s.Write(b) // the other direction is still open
			s.CloseWrite()
		})
		s, err := p.cli.Open(ctx, 0, svcTest, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		msg := randBytes(7, 3<<20) // more than a window: EOF must wait behind the data
		if _, err := s.Write(msg); err != nil {
			t.Fatal(err)
		}
		if err := s.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Write([]byte("late")); n != 0 || !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("Write after CloseWrite = %d, %v; want 0, io.ErrClosedPipe", n, err)
		}
		back, err := io.ReadAll(s)
		if err != nil {
			t.Fatalf("reading reply: %v", err)
		}
		if !bytes.Equal(<-got, msg) {
			t.Error("server did not read exactly what was written before EOF")
		}
		slices.Reverse(msg)
		if !bytes.Equal(back, msg) {
			t.Error("reply after half-close is wrong")
		}
		if n, err := s.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Errorf("Read after EOF = %d, %v; want 0, io.EOF", n, err)
		}
		if n, err := s.Stderr().Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Errorf("stderr Read after EOF = %d, %v; want 0, io.EOF", n, err)
		}
	})
	t.Run("server half-closes first", func(t *testing.T) {
		ctx := testCtx(t)
		p := newPair(t, pairOpts{})
		got := make(chan []byte, 1)
		p.listen(svcTest, func(s *Stream, _ []byte) {
			s.Write([]byte("greeting"))
			s.CloseWrite()
			b, _ := io.ReadAll(s)
			got <- b
		})
		s, err := p.cli.Open(ctx, 0, svcTest, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		greet, err := io.ReadAll(s)
		if err != nil || string(greet) != "greeting" {
			t.Fatalf("ReadAll = %q, %v", greet, err)
		}
		if _, err := s.Write([]byte("still talking")); err != nil {
			t.Fatalf("Write after the peer's EOF: %v", err)
		}
		s.CloseWrite()
		if b := <-got; string(b) != "still talking" {
			t.Errorf("server read %q", b)
		}
	})
}

func TestCloseHandshake(t *testing.T) {
	tests := []struct {
		name                 string
		clientFirst, srvToo  bool
		wantClientRead       error
		wantServerReadErrNil bool
	}{
		{name: "client closes", clientFirst: true, wantClientRead: ErrClosed},
		{name: "server closes", srvToo: true, wantClientRead: io.EOF},
		{name: "both close at once", clientFirst: true, srvToo: true, wantClientRead: ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			p := newPair(t, pairOpts{})
			start := make(chan struct{})
			srvRead := make(chan error, 1)
			p.listen(svcTest, func(s *Stream, _ []byte) {
				<-start
				if tt.srvToo {
					s.Close()
				}
				_, err := s.Read(make([]byte, 1))
				srvRead <- err
			})
			s, err := p.cli.Open(ctx, 0, svcTest, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := p.cli.Streams(); n != 1 {
				t.Errorf("client Streams() = %d while open", n)
			}
			if n := p.srv.Streams(); n != 1 {
				t.Errorf("server Streams() = %d while open", n)
			}
			close(start)
			if tt.clientFirst {
				s.Close()
			}
			waitUntil(ctx, t, p.ev, "both sides to forget the stream", p.bothIdle)
			if _, err := s.Read(make([]byte, 1)); err != tt.wantClientRead {
				t.Errorf("client Read after close = %v, want %v", err, tt.wantClientRead)
			}
			if _, err := s.Write([]byte("x")); err == nil {
				t.Error("client Write after close succeeded")
			}
			if err := <-srvRead; err != io.EOF && err != ErrClosed {
				t.Errorf("server Read after close = %v, want io.EOF or ErrClosed", err)
			}
			select {
			case _, ok := <-s.Requests():
				if ok {
					t.Error("request delivered on a closed stream")
				}
			default:
				t.Error("Requests() not closed after the close handshake")
			}
			if err := s.Close(); err != nil {
				t.Errorf("second Close = %v", err)
			}
		})
	}
}

func TestStalledStreamDoesNotBlockOthers(t *testing.T) {
	ctx := testCtx(t)
	var mu sync.Mutex
	maxBuf := map[*Stream]int{}
	p := newPair(t, pairOpts{srvHook: func(srv *Endpoint, m *router.Message) {
		if m.Kind != router.KindData && m.Kind != router.KindExtData {
			return
		}
		srv.mu.Lock()
		s := srv.streams[m.Handle]
		srv.mu.Unlock()
		if s == nil {
			return
		}
		n := buffered(s)
		mu.Lock()
		maxBuf[s] = max(maxBuf[s], n)
		mu.Unlock()
	}})
	stalledCh := make(chan *Stream, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	p.listen(svcTest, func(s *Stream, _ []byte) {
		stalledCh <- s
		<-release // never reads
	})

	st, err := p.cli.Open(ctx, 0, svcTest, nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	writeDone := make(chan result, 1)
	go func() {
		n, err := st.Write(make([]byte, 2*DefaultWindow+12345))
		writeDone <- result{n, err}
	}()
	stalled := <-stalledCh
	waitUntil(ctx, t, p.ev, "the stalled stream's window to fill", func() bool { return buffered(stalled) == DefaultWindow })

	if err := echoTransfer(ctx, p, 4<<20, 2); err != nil {
		t.Fatalf("second stream: %v", err)
	}

	select {
	case r := <-writeDone:
		t.Fatalf("writer of the stalled stream returned (%d, %v) although nobody read", r.n, r.err)
	default:
	}
	st.mu.Lock()
	win := st.sendWin
	st.mu.Unlock()
	if win != 0 {
		t.Errorf("stalled writer has %d bytes of window left, want 0", win)
	}
	if n := buffered(stalled); n != DefaultWindow {
		t.Errorf("stalled stream holds %d bytes, want exactly one window (%d)", n, DefaultWindow)
	}
	mu.Lock()
	for s, n := range maxBuf {
		if n > DefaultWindow {
			t.Errorf("stream %d buffered %d bytes, more than the window %d", s.id, n, DefaultWindow)
		}
	}
	mu.Unlock()

	// Closing the stream releases the writer with the bytes it got out.
	st.Close()
	r := <-writeDone
	if r.n != DefaultWindow || !errors.Is(r.err, ErrClosed) {
		t.Errorf("blocked Write after Close = %d, %v; want %d, ErrClosed", r.n, r.err, DefaultWindow)
	}
}

func TestConcurrentStreams(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	const streams = 50
	errs := make(chan error, streams)
	for i := range streams {
		go func() { errs <- echoTransfer(ctx, p, 1<<20, uint64(1000+i)) }()
	}
	for range streams {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	waitUntil(ctx, t, p.ev, "every stream to be forgotten", p.bothIdle)
}

func TestStreamRequests(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	type req struct {
		name    string
		payload []byte
	}
	sent := []req{
		{"exit-status", []byte{0, 0, 0, 3}},
		{"exit-signal", []byte(`{"signal":"KILL","core_dumped":true}`)},
		{"window-change", nil},
		{"payload\x00with nul", []byte("a\x00b")}, // the first NUL ends the name
	}
	p.listen(svcTest, func(s *Stream, _ []byte) {
		for _, r := range sent {
			s.SendRequest(r.name, r.payload)
		}
		s.CloseWrite()
	})
	s, err := p.cli.Open(ctx, 0, svcTest, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []req
	for r := range s.Requests() { // closes when the server's Close arrives
		got = append(got, req{r.Name, r.Payload})
	}
	want := []req{sent[0], sent[1], {"window-change", []byte{}}, {"payload", []byte("with nul\x00a\x00b")}}
	if len(got) != len(want) {
		t.Fatalf("got %d requests, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if got[i].name != want[i].name || !bytes.Equal(got[i].payload, want[i].payload) {
			t.Errorf("request %d = %q %q, want %q %q", i, got[i].name, got[i].payload, want[i].name, want[i].payload)
		}
	}
	// Requests() closes when the peer's Close is handled, so the stream is closed by now.
	if err := s.SendRequest("signal", []byte("TERM")); !errors.Is(err, ErrClosed) {
		t.Errorf("SendRequest after peer close = %v, want ErrClosed", err)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name    string
		dst     router.ID
		handle  uint32
		check   func(error) bool
		explain string
	}{
		{"no such service", 0, noSuchSvc, func(err error) bool {
			var oe *OpenError
			return errors.As(err, &oe) && oe.Reason == UnknownType && errors.Is(err, ErrNoService) &&
				bytes.Contains([]byte(err.Error()), []byte(ErrNoService.Error()))
		}, "an OpenError (unknown channel type) mentioning " + ErrNoService.Error()},
		{"no such context", 42, svcEcho, func(err error) bool {
			var re *RemoteError // a Dead notice from the root
			return errors.As(err, &re) && bytes.Contains([]byte(err.Error()), []byte("no route"))
		}, "a RemoteError saying there is no route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			p := newPair(t, pairOpts{})
			s, err := p.cli.Open(ctx, tt.dst, tt.handle, nil)
			if err == nil || !tt.check(err) {
				t.Fatalf("Open = %v, %v; want %s", s, err, tt.explain)
			}
			if n := p.cli.Streams(); n != 0 {
				t.Errorf("failed Open left %d streams", n)
			}
		})
	}
}

func TestOpenCancelledClosesAcceptedStream(t *testing.T) {
	ctx := testCtx(t)
	p := newPair(t, pairOpts{})
	srvRead := make(chan error, 1)
	p.listen(svcTest, func(s *Stream, _ []byte) {
		_, err := s.Read(make([]byte, 1))
		srvRead <- err
	})
	openCtx, cancel := context.WithCancelCause(ctx)
	cause := fmt.Errorf("caller gave up")
	cancel(cause)
	if _, err := p.cli.Open(openCtx, 0, svcTest, nil); !errors.Is(err, cause) {
		t.Fatalf("Open with a cancelled context = %v, want %v", err, cause)
	}
	// The server accepted the Open anyway; the opener's answer to the orphan OpenOK must
	// end the server's half.
	select {
	case err := <-srvRead:
		if err != io.EOF {
			t.Errorf("server Read on the abandoned stream = %v, want io.EOF", err)
		}
	case <-ctx.Done():
		t.Fatal("the server's half of the abandoned stream was never closed")
	}
	waitUntil(ctx, t, p.ev, "both sides to forget the abandoned stream", p.bothIdle)
}
