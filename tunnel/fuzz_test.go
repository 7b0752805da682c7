package tunnel

import (
	"context"
	"encoding/binary"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/router"
)

// fuzzSender stands in for the router under an endpoint fed by the fuzzer: it records what the
// endpoint sends and says that context 0 (the root) lies on every path.
type fuzzSender struct {
	mu   sync.Mutex
	sent []*router.Message
}

func (f *fuzzSender) ID() router.ID                  { return 1 }
func (f *fuzzSender) Reachable(router.ID) bool       { return true }
func (f *fuzzSender) OnPath(src, dst router.ID) bool { return src == dst || src == 0 }
func (f *fuzzSender) Send(m *router.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) < 1<<12 {
		f.sent = append(f.sent, m)
	}
	return nil
}

// fuzzKinds are the kinds a fuzzed frame may take: every kind an endpoint handles.
var fuzzKinds = []router.Kind{router.KindRequest, router.KindReply, router.KindDead, router.KindDisconnect,
	router.KindOpen, router.KindOpenOK, router.KindOpenFail, router.KindData, router.KindExtData,
	router.KindWindow, router.KindEOF, router.KindClose, router.KindStreamRequest}

// decodeFrames turns fuzz bytes into frames: per frame a kind, flags, source (contexts 0, 2 or
// 3), a handle near the ones the endpoint hands out, a reply-to, a payload length and payload.
func decodeFrames(b []byte) []*router.Message {
	var out []*router.Message
	for len(b) >= 6 && len(out) < 256 {
		n := int(b[5] % 24)
		m := &router.Message{Header: router.Header{
			Kind:    fuzzKinds[int(b[0])%len(fuzzKinds)],
			Flags:   b[1] & router.FlagError,
			Dst:     1,
			Src:     []router.ID{0, 2, 3, router.Unreachable}[b[2]%4],
			Handle:  []uint32{svcEcho, callEcho, FirstDynamicHandle + 1, FirstDynamicHandle + 2, FirstDynamicHandle + 3, 99}[int(b[3])%6],
			ReplyTo: uint32(b[4]),
		}}
		b = b[6:]
		if n > len(b) {
			n = len(b)
		}
		m.Payload, b = b[:n], b[n:]
		if m.Kind == router.KindOpen || m.Kind == router.KindOpenOK || m.Kind == router.KindWindow {
			// Give most window-carrying frames a plausible 4-byte prefix.
			if len(m.Payload) >= 4 && m.Payload[0]&1 == 0 {
				binary.BigEndian.PutUint32(m.Payload, binary.BigEndian.Uint32(m.Payload)&0x00ffffff)
			}
		}
		out = append(out, m)
	}
	return out
}

// FuzzEndpoint feeds an endpoint hostile frame sequences while it has a call pending to context
// 3 and a stream open to it. It must never panic or block, and the call may end only with an
// answer from context 3 or a router on the path (context 0): frames from context 2 are forged.
// The stream opens only if the first frame that may decide it is an accept (spec 5.1).
func FuzzEndpoint(f *testing.F) {
	win := func(n uint32) []byte { b := make([]byte, 4); binary.BigEndian.PutUint32(b, n); return b }
	frame := func(kind router.Kind, src router.ID, handle uint32, payload []byte) []byte {
		ki := 0
		for i, k := range fuzzKinds {
			if k == kind {
				ki = i
			}
		}
		si := map[router.ID]byte{0: 0, 2: 1, 3: 2, router.Unreachable: 3}[src]
		hi := map[uint32]byte{svcEcho: 0, callEcho: 1, FirstDynamicHandle + 1: 2, FirstDynamicHandle + 2: 3, FirstDynamicHandle + 3: 4}[handle]
		return append([]byte{byte(ki), 0, si, hi, 7, byte(len(payload))}, payload...)
	}
	f.Add(frame(router.KindReply, 2, FirstDynamicHandle+1, []byte("forged")))
	f.Add(frame(router.KindDead, 2, FirstDynamicHandle+2, []byte("forged")))
	f.Add(frame(router.KindOpenOK, 3, FirstDynamicHandle+2, win(1<<20)))
	f.Add(append(frame(router.KindOpen, 2, svcEcho, win(64)), frame(router.KindData, 2, FirstDynamicHandle+3, []byte("hello"))...))
	f.Add(frame(router.KindWindow, 3, FirstDynamicHandle+2, win(0xffffffff)))
	f.Add(append(frame(router.KindData, 3, FirstDynamicHandle+2, []byte("early")), frame(router.KindOpenOK, 3, FirstDynamicHandle+2, win(1<<20))...))
	f.Add(append(frame(router.KindOpenOK, 3, FirstDynamicHandle+2, win(1<<20)), frame(router.KindOpenOK, 3, FirstDynamicHandle+2, win(1<<20))...))
	f.Add(frame(router.KindDisconnect, 3, 0, []byte("Timeout, server 198.18.0.3 not responding.")))
	f.Add(frame(router.KindRequest, 2, callEcho, []byte("x")))
	f.Fuzz(func(t *testing.T, data []byte) {
		out := &fuzzSender{}
		e := NewEndpoint(nil)
		e.Attach(out)
		e.Listen(svcEcho, func(s *Stream, _ []byte) {
			defer s.Close()
			io.Copy(io.Discard, s)
		})
		e.HandleCall(callEcho, func(_ context.Context, _ router.ID, b []byte) ([]byte, error) { return b, nil })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The pending call, at the handle Call would give it; its reply channel shows whether
		// anything was handed to it.
		pending := &call{dst: 3, reply: make(chan *router.Message, 1)}
		e.mu.Lock()
		e.calls[e.allocLocked()] = pending // FirstDynamicHandle+1
		e.mu.Unlock()
		opened := make(chan error, 1)
		go func() { // the pending stream: handle FirstDynamicHandle+2
			_, err := e.Open(ctx, 3, svcEcho, nil)
			opened <- err
		}()
		waitFor(t, func() bool { e.mu.Lock(); defer e.mu.Unlock(); return len(e.streams) == 1 })

		done := make(chan struct{})
		frames := decodeFrames(data)
		go func() {
			defer close(done)
			for _, m := range frames {
				e.HandleMessage(m)
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("HandleMessage blocked")
		}
		// Which frames could legitimately have ended the call?
		legit := false
		for _, m := range frames {
			if m.Handle == FirstDynamicHandle+1 && (m.Kind == router.KindReply && m.Src == 3 || m.Kind == router.KindDead && (m.Src == 3 || m.Src == 0)) {
				legit = true
			}
			if m.Kind == router.KindDisconnect && (m.Src == 3 || m.Src == router.Unreachable) {
				legit = true
			}
		}
		checkOpenOutcome(t, frames, opened)
		select {
		case a := <-pending.reply:
			if !legit {
				t.Fatalf("the call to context 3 took a frame it may not take: %v %q", a, a.Payload)
			}
		default:
		}
		out.mu.Lock()
		defer out.mu.Unlock()
		for _, m := range out.sent {
			if m.Src != 1 {
				t.Errorf("the endpoint sent a frame as context %d", m.Src)
			}
		}
	})
}

// waitFor spins until cond holds (it soon does: a goroutine's first step), failing after a while.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		runtimeGosched()
	}
}

// checkOpenOutcome: the pending open (to context 3, handle FirstDynamicHandle+2) succeeds exactly
// when the first frame that may decide it is a well-formed OpenOK from context 3. Frames that
// may decide it: any stream frame from context 3 to that handle (anything before the accept is
// a violation that fails the open), a Dead from a context on the path (0 or 3), a Disconnect of
// context 3. Frames from anyone else are ignored.
func checkOpenOutcome(t *testing.T, frames []*router.Message, opened chan error) {
	t.Helper()
	const h = FirstDynamicHandle + 2
	decided, wantOpen := false, false
frames:
	for _, m := range frames {
		switch {
		case m.Kind == router.KindDisconnect && m.Src == 3:
		case m.Kind == router.KindDead && m.Handle == h && (m.Src == 0 || m.Src == 3):
		case m.Handle == h && m.Src == 3 && m.Kind >= router.KindOpenOK && m.Kind <= router.KindStreamRequest:
			wantOpen = m.Kind == router.KindOpenOK && len(m.Payload) >= 4
		default:
			continue
		}
		decided = true
		break frames
	}
	if !decided {
		return
	}
	select {
	case err := <-opened:
		if (err == nil) != wantOpen {
			t.Fatalf("open ended with %v; the first deciding frame says opened=%v", err, wantOpen)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a decided open never returned")
	}
}
