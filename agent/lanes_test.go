package agent

import (
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/internal/lanes"
	"github.com/mitogen-go/mitogend/proto"
)

// hubFor starts a hub listening and returns it with its socket's path.
func hubFor(t *testing.T) (*laneHub, string) {
	t.Helper()
	h := &laneHub{logf: t.Logf}
	b, err := h.path(t.Context(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var reply proto.LanesReply
	if err := json.Unmarshal(b, &reply); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	return h, reply.Path
}

// openSet dials n lanes of set id to sock, each sending its hello.
func openSet(t *testing.T, sock string, id lanes.SetID, n int) []net.Conn {
	t.Helper()
	cs := make([]net.Conn, n)
	for i := range cs {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write(lanes.Hello{Set: id, Index: i, Count: n}.Marshal()); err != nil {
			t.Fatal(err)
		}
		cs[i] = c
	}
	return cs
}

func readAck(t *testing.T, c net.Conn) {
	t.Helper()
	var b [1]byte
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != lanes.Ack {
		t.Fatalf("no ack on lane 0: %v %x", err, b)
	}
	c.SetReadDeadline(time.Time{})
}

func claimReq(id lanes.SetID, n int) proto.Lanes {
	return proto.Lanes{Set: hex.EncodeToString(id[:]), Count: n}
}

// TestLaneHubClaims: a set claimed after its lanes arrived, and one claimed before, both come
// out in index order, the stream striped over them intact.
func TestLaneHubClaims(t *testing.T) {
	h, sock := hubFor(t)
	fi, err := os.Stat(filepath.Dir(sock))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the socket's directory: %v, mode %v", err, fi.Mode())
	}
	for _, early := range []bool{false, true} {
		id := lanes.NewSetID()
		var got []net.Conn
		claimed := make(chan error, 1)
		claim := func() {
			var err error
			got, err = h.claim(claimReq(id, 3))
			claimed <- err
		}
		if early {
			go claim()
		}
		cs := openSet(t, sock, id, 3)
		readAck(t, cs[0])
		if !early {
			go claim()
		}
		if err := <-claimed; err != nil {
			t.Fatalf("early=%v: %v", early, err)
		}
		lio := newLaneIO(got)
		go func() { lio.stdout.Write([]byte("striped across three lanes, in order")); lio.finish() }()
		rs := make([]io.Reader, len(cs))
		for i, c := range cs {
			rs[i] = c
		}
		b, err := io.ReadAll(lanes.NewReader(rs))
		if err != nil || string(b) != "striped across three lanes, in order" {
			t.Fatalf("early=%v: read %q, %v", early, b, err)
		}
	}
	h.close()
	if _, err := os.Stat(filepath.Dir(sock)); !os.IsNotExist(err) {
		t.Fatalf("the socket's directory outlived the hub: %v", err)
	}
}

// TestLaneHubGivesUp: a claim whose lanes do not all come fails, closes those that came, and
// a lane that comes late is closed too.
func TestLaneHubGivesUp(t *testing.T) {
	h, sock := hubFor(t)
	h.claimWait = 50 * time.Millisecond
	id := lanes.NewSetID()
	readAck(t, openSet(t, sock, id, 2)[0])
	if _, err := h.claim(claimReq(id, 3)); err == nil {
		t.Fatal("a claim naming the wrong count succeeded")
	}
	id2 := lanes.NewSetID()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(lanes.Hello{Set: id2, Index: 0, Count: 2}.Marshal()) // lane 1 comes late, below
	if _, err := h.claim(claimReq(id2, 2)); err == nil {
		t.Fatal("a claim of a set missing a lane succeeded")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the lane that came stayed open after the claim gave up: %d, %v", n, err)
	}
	late, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	late.Write(lanes.Hello{Set: id2, Index: 1, Count: 2}.Marshal())
	late.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := late.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("a late lane of a set given up was kept: %d, %v", n, err)
	}
}

// TestLaneHubMakesRoom: with the hub full of complete sets nobody claimed, a new set drops the
// oldest, closing its lanes, and is served.
func TestLaneHubMakesRoom(t *testing.T) {
	h, sock := hubFor(t)
	var sets [][]net.Conn
	for range maxLaneSets {
		cs := openSet(t, sock, lanes.NewSetID(), 1)
		readAck(t, cs[0])
		sets = append(sets, cs)
	}
	id := lanes.NewSetID()
	cs := openSet(t, sock, id, 1)
	readAck(t, cs[0])
	if _, err := h.claim(claimReq(id, 1)); err != nil {
		t.Fatal(err)
	}
	sets[0][0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := sets[0][0].Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the oldest set's lane stayed open: %d, %v", n, err)
	}
}

// TestLaneStdinCut: the command's stdin ends either way, but only a lane that ended before
// the end chunk is kept as a cut, which serveExec turns into status 255.
func TestLaneStdinCut(t *testing.T) {
	for _, clean := range []bool{true, false} {
		ours, theirs := net.Pipe()
		lio := newLaneIO([]net.Conn{ours})
		go func() {
			w := lanes.NewWriter([]io.Writer{theirs})
			w.Write([]byte("some input"))
			if clean {
				w.End()
			}
			theirs.Close()
		}()
		b, _ := io.ReadAll(lio.stdin)
		if string(b) != "some input" {
			t.Fatalf("clean=%v: read %q", clean, b)
		}
		if cut := lio.stdin.cut(); (cut == nil) != clean {
			t.Fatalf("clean=%v: cut %v", clean, cut)
		}
		ours.Close()
	}
}
