package router_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/router"
)

// FuzzLink's topology: the router under test is the root (0) with a trusted client (1), the
// untrusted target whose bytes the fuzzer writes (2, with context 20 behind it) and another
// untrusted target (3).
const (
	fuzzClient, fuzzTarget, fuzzDeep, fuzzOther router.ID = 1, 2, 20, 3

	// linkFuzzMax is the root's payload limit: small, so that the fuzzer reaches it, and
	// large enough for every Dead notice the root writes (at most 47 bytes).
	linkFuzzMax = 64

	// linkFuzzTimeout bounds one input; reaching it means the router hung.
	linkFuzzTimeout = 5 * time.Second
)

// fuzzMarker is the frame the test sends last on a link to know everything before it arrived;
// no frame the target writes can look like it, since the root drops those from context 0.
var fuzzMarker = router.Header{Kind: router.KindRequest, Handle: 0xfffffff0}

// linkModel is what spec.md section 3 says the root does with the bytes the target writes.
type linkModel struct {
	local    []router.Message // delivered to the root's handler, in order
	toClient []router.Message // forwarded or flooded to the client
	toOther  []router.Message // flooded to the other target
	back     []router.Message // Dead notices to the target; a prefix arrives if the link fails
	err      error            // the framing error the link goes down with; nil for a clean end
	hello    bool             // the link goes down on an unexpected Hello
}

// modelLink walks data frame by frame with specFrame and applies section 3.1's rules.
func modelLink(data []byte) linkModel {
	var lm linkModel
	behind := map[router.ID]bool{fuzzTarget: true, fuzzDeep: true}
	// A Disconnect goes to the links the context's frames crossed (section 3.4): the client's,
	// once a frame of the context went there; never the other target's, which no frame of a
	// target may reach.
	crossed := map[router.ID]bool{}
	flood := func(id router.ID) {
		lm.local = append(lm.local, router.Message{Header: router.Header{Kind: router.KindDisconnect, Src: id}})
		if crossed[id] {
			lm.toClient = append(lm.toClient, router.Message{Header: router.Header{Kind: router.KindDisconnect, Src: id}})
		}
		delete(crossed, id)
	}
	bounce := func(m router.Message, why string) {
		reason := fmt.Sprintf("router: context %d: %s", m.Dst, why)
		if m.Kind == router.KindDead || len(reason) > linkFuzzMax {
			return // never a notice for a notice; Send refuses what the limit refuses
		}
		lm.back = append(lm.back, router.Message{
			Header:  router.Header{Kind: router.KindDead, Dst: m.Src, Handle: m.ReplyTo},
			Payload: []byte(reason)})
	}
	for off := 0; ; {
		n, err := specFrame(data[off:], linkFuzzMax)
		if err != nil {
			if err != io.EOF {
				lm.err = err
			}
			break
		}
		m := rawMessage(data[off : off+n])
		off += n
		if m.Kind == router.KindHello {
			lm.hello = true
			break
		}
		if m.Kind == router.KindDisconnect {
			if behind[m.Src] {
				delete(behind, m.Src)
				flood(m.Src)
			}
			continue
		}
		switch {
		case !behind[m.Src]: // dropped silently
		case m.Dst == 0:
			lm.local = append(lm.local, m)
		case m.Dst == fuzzClient:
			lm.toClient = append(lm.toClient, m)
			crossed[m.Src] = true
		case m.Dst == fuzzOther:
			bounce(m, "permission denied")
		case behind[m.Dst]:
			bounce(m, "route loops back")
		default:
			bounce(m, "no route to context")
		}
	}
	var lost []router.ID
	for id := range behind {
		lost = append(lost, id)
	}
	sort.Slice(lost, func(i, j int) bool { return lost[i] < lost[j] })
	for _, id := range lost {
		flood(id)
	}
	return lm
}

// rawMessage decodes a frame specFrame accepted, by spec.md's layout.
func rawMessage(b []byte) router.Message {
	m := router.Message{Header: router.Header{
		Kind: router.Kind(b[2]), Flags: b[3],
		Dst: router.ID(binary.BigEndian.Uint32(b[4:])), Src: router.ID(binary.BigEndian.Uint32(b[8:])),
		Handle: binary.BigEndian.Uint32(b[12:]), ReplyTo: binary.BigEndian.Uint32(b[16:]),
	}}
	if len(b) > router.HeaderSize {
		m.Payload = b[router.HeaderSize:]
	}
	return m
}

// collector is a Handler that keeps every frame.
type collector struct {
	mu   sync.Mutex
	msgs []router.Message
}

func (c *collector) HandleMessage(m *router.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, *m)
	c.mu.Unlock()
}

func (c *collector) snapshot() []router.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]router.Message(nil), c.msgs...)
}

// peerFrames reads frames from a link's far end until the marker or an error.
func peerFrames(c net.Conn) <-chan []router.Message {
	ch := make(chan []router.Message, 1)
	go func() {
		var got []router.Message
		for {
			m, err := router.ReadMessage(c, router.DefaultMaxPayload)
			if err != nil || m.Kind == fuzzMarker.Kind && m.Src == 0 && m.Handle == fuzzMarker.Handle {
				ch <- got
				return
			}
			got = append(got, *m)
		}
	}()
	return ch
}

func sameFrames(got, want []router.Message) error {
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			return fmt.Errorf("frame %d missing: want %v %q", i, &want[i], want[i].Payload)
		case i >= len(want):
			return fmt.Errorf("extra frame %d: %v %q", i, &got[i], got[i].Payload)
		case got[i].Header != want[i].Header || !bytes.Equal(got[i].Payload, want[i].Payload):
			return fmt.Errorf("frame %d = %v %q, want %v %q", i, &got[i], got[i].Payload, &want[i], want[i].Payload)
		}
	}
	return nil
}

// linkSeeds are the framing seeds plus the routing tests' frames as the target would write
// them, one per seed and all in one stream.
func linkSeeds() [][]byte {
	seeds := frameSeeds()
	var all bytes.Buffer
	add := func(ms ...router.Message) {
		var b bytes.Buffer
		for i := range ms {
			router.WriteMessage(&b, &ms[i])
		}
		seeds = append(seeds, b.Bytes())
		all.Write(b.Bytes())
	}
	msg := func(kind router.Kind, flags uint8, src, dst router.ID, i int) router.Message {
		return router.Message{
			Header:  router.Header{Kind: kind, Flags: flags, Dst: dst, Src: src, Handle: uint32(1024 + i), ReplyTo: uint32(2048 + i)},
			Payload: []byte(fmt.Sprintf("payload %d", i))}
	}
	for i, tc := range allowedRoutes {
		add(msg(tc.kind, tc.flags, tc.from, tc.to, i))
	}
	for i, tc := range spoofedSources {
		add(msg(router.KindRequest, 0, tc.src, tc.dst, i))
	}
	add(msg(router.KindOpen, 0, fuzzTarget, fuzzOther, 1), msg(router.KindDead, 0, fuzzTarget, fuzzOther, 2),
		msg(router.KindRequest, 0, fuzzDeep, 99, 3), msg(router.KindData, 0, fuzzTarget, fuzzDeep, 4))
	add(router.Message{Header: router.Header{Kind: router.KindDisconnect, Src: fuzzDeep}},
		msg(router.KindReply, router.FlagError, fuzzDeep, 0, 5),
		router.Message{Header: router.Header{Kind: router.KindDisconnect, Src: fuzzOther}},
		msg(router.KindData, 0, fuzzTarget, fuzzClient, 6))
	add(msg(router.KindData, 0, fuzzTarget, 0, 7), router.Message{Header: router.Header{Kind: router.KindHello}},
		msg(router.KindData, 0, fuzzTarget, 0, 8))
	return append(seeds, all.Bytes())
}

// FuzzLink writes arbitrary bytes as an untrusted target and checks the root against
// modelLink: no panic or hang, the link goes down by itself on bad framing and with the right
// error, the handler and the other links see exactly the frames the trust rules allow, and
// the target gets back only the Dead notices it caused.
func FuzzLink(f *testing.F) {
	for _, s := range linkSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := modelLink(data)
		ctx, cancel := context.WithTimeout(context.Background(), linkFuzzTimeout)
		defer cancel()
		local := &collector{}
		downs := make(chan *router.Link, 4)
		r := router.New(router.Config{ID: 0, Handler: local, MaxPayload: linkFuzzMax,
			OnLinkDown: func(l *router.Link, _ []router.ID, _ error) { downs <- l }})
		defer r.Close()
		clientEnd, clientPeer := socketPair(t)
		otherEnd, otherPeer := socketPair(t)
		targetEnd, targetPeer := socketPair(t)
		r.AddLink(clientEnd, router.LinkConfig{Name: "client", Trusted: true, Peer: fuzzClient})
		r.AddLink(otherEnd, router.LinkConfig{Name: "target-3", Peer: fuzzOther})
		l := r.AddLink(targetEnd, router.LinkConfig{Name: "target-2", Peer: fuzzTarget})
		if err := r.AddRoute(fuzzDeep, fuzzTarget); err != nil {
			t.Fatal(err)
		}
		toClient, toOther, back := peerFrames(clientPeer), peerFrames(otherPeer), peerFrames(targetPeer)

		// A peer that stops mid-frame or between frames closes its side; after bad framing
		// the router must end the link without that help.
		ends := want.err == nil && !want.hello || want.err == io.ErrUnexpectedEOF
		go func() {
			targetPeer.Write(data) // fails once the router has closed its end: no matter
			if ends {
				targetPeer.(interface{ CloseWrite() error }).CloseWrite()
			}
		}()
		select {
		case down := <-downs:
			if down != l {
				t.Fatalf("link %s went down instead", down.Name())
			}
		case <-ctx.Done():
			t.Fatalf("link still up after %v (peer closed: %v, model: err %v hello %v)", linkFuzzTimeout, ends, want.err, want.hello)
		}
		checkLinkErr(t, l.Err(), want)
		if err := sameFrames(local.snapshot(), want.local); err != nil {
			t.Fatalf("root handler: %v", err)
		}
		for _, p := range []struct {
			name string
			id   router.ID
			got  <-chan []router.Message
			want []router.Message
		}{{"client", fuzzClient, toClient, want.toClient}, {"other target", fuzzOther, toOther, want.toOther}} {
			marker := router.Message{Header: fuzzMarker}
			marker.Dst = p.id
			if err := r.Send(&marker); err != nil {
				t.Fatalf("marker to %s: %v", p.name, err)
			}
			if err := sameFrames(waitFrames(ctx, t, p.got), p.want); err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
		}
		got, prefix := waitFrames(ctx, t, back), want.back
		if len(got) < len(prefix) {
			prefix = prefix[:len(got)]
		}
		if err := sameFrames(got, prefix); err != nil {
			t.Fatalf("back to the target: %v", err)
		}
	})
}

func waitFrames(ctx context.Context, t *testing.T, ch <-chan []router.Message) []router.Message {
	t.Helper()
	select {
	case got := <-ch:
		return got
	case <-ctx.Done():
		t.Fatalf("frames still in flight after %v", linkFuzzTimeout)
		return nil
	}
}

func checkLinkErr(t *testing.T, err error, want linkModel) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatal("link down without an error")
	case want.hello:
		if !strings.Contains(err.Error(), "unexpected hello") {
			t.Fatalf("link error %q, want an unexpected hello", err)
		}
	case want.err != nil:
		if !errors.Is(err, want.err) {
			t.Fatalf("link error %q, want %v", err, want.err)
		}
	case !strings.Contains(err.Error(), "closed by peer"):
		t.Fatalf("link error %q, want closed by peer", err)
	}
}
