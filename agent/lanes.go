package agent

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/internal/lanes"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// laneHub accepts the lanes the daemon opens to this agent (proto.AgentLanes) and hands each
// complete set to the command that names it (ExecRequest.Lanes). The socket lives in a
// directory of its own, mode 0700: only this user (and root) may connect; a set's random
// identifier is what ties a lane to a command.
type laneHub struct {
	logf      router.Logf
	claimWait time.Duration // laneClaimTimeout if 0 (tests shorten it)

	mu   sync.Mutex // protects the fields below
	dir  string     // "" until the first AgentLanes
	ln   net.Listener
	sets map[lanes.SetID]*laneSet
}

// laneSet is one set being gathered: by its hellos, by the command that claims it, or both.
// Its fields are guarded by laneHub.mu.
type laneSet struct {
	conns    []net.Conn // by index; nil until that lane arrives
	have     int
	complete chan struct{} // closed (once, by the hello that makes have reach len(conns)) when every lane is in
	claimed  bool
	dead     bool      // a claim gave up on it: a lane that comes late is closed, the id is not reused
	since    time.Time // made
}

const (
	// maxLaneSets bounds the sets the hub holds: the daemon keeps one ready per connection,
	// and opens the next as it takes it. When it is full, sets that can no longer be used
	// (incomplete for laneStale, dead for as long) go, then the oldest complete one nobody
	// claimed: the daemon only ever waits on its newest.
	maxLaneSets = 4
	// laneStale is how long an incomplete set may wait for the rest of its lanes: the daemon
	// opens a set's lanes all at once.
	laneStale = laneHelloTimeout + laneClaimTimeout
	// laneHelloTimeout bounds the wait for a lane's hello once it is connected.
	laneHelloTimeout = 10 * time.Second
	// laneClaimTimeout bounds a command's wait for the rest of its set: lanes the daemon
	// opened before the command's open have arrived, but their hellos may still be read.
	laneClaimTimeout = 10 * time.Second
)

// path listens on first use and returns the socket's path.
func (h *laneHub) path(context.Context, router.ID, []byte) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dir == "" {
		dir, err := os.MkdirTemp("", "mitogen-lanes-") // mode 0700
		if err != nil {
			return nil, fmt.Errorf("agent: lanes: %w", err)
		}
		ln, err := net.Listen("unix", filepath.Join(dir, "s"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("agent: lanes: %w", err)
		}
		h.dir, h.ln, h.sets = dir, ln, map[lanes.SetID]*laneSet{}
		go h.accept(ln)
	}
	return json.Marshal(proto.LanesReply{Path: filepath.Join(h.dir, "s")})
}

func (h *laneHub) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return // closed
		}
		go h.greet(c)
	}
}

// greet reads a lane's hello and files it with its set.
func (h *laneHub) greet(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(laneHelloTimeout))
	hello, err := lanes.ReadHello(c)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		h.logf("agent: %v", err)
		c.Close()
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s, err := h.setLocked(hello.Set, hello.Count)
	if err == nil && s.conns[hello.Index] != nil {
		err = fmt.Errorf("agent: lanes: lane %d of a set twice", hello.Index)
	}
	if err != nil {
		h.logf("%v", err)
		c.Close()
		return
	}
	s.conns[hello.Index] = c
	if s.have++; s.have == len(s.conns) {
		close(s.complete)
		// The daemon uses no set it has not seen acknowledged. On a lane's first write, into
		// an empty socket buffer: it does not block.
		if _, err := s.conns[0].Write([]byte{lanes.Ack}); err != nil {
			h.logf("agent: lanes: ack: %v", err)
		}
	}
}

// setLocked finds or makes the set id of count lanes. h.mu is held.
func (h *laneHub) setLocked(id lanes.SetID, count int) (*laneSet, error) {
	if h.sets == nil {
		return nil, errors.New("agent: lanes: not listening")
	}
	s := h.sets[id]
	if s != nil && s.dead {
		return nil, errors.New("agent: lanes: a lane of a set given up")
	}
	if s == nil {
		if len(h.sets) >= maxLaneSets {
			h.pruneLocked()
		}
		if len(h.sets) >= maxLaneSets {
			return nil, errors.New("agent: lanes: too many sets waiting")
		}
		s = &laneSet{conns: make([]net.Conn, count), complete: make(chan struct{}), since: time.Now()}
		h.sets[id] = s
	}
	if len(s.conns) != count {
		return nil, fmt.Errorf("agent: lanes: a set of %d lanes named as one of %d", len(s.conns), count)
	}
	return s, nil
}

// pruneLocked makes room: it drops the sets past their use, else the oldest complete set no
// command has claimed. h.mu is held.
func (h *laneHub) pruneLocked() {
	var oldest lanes.SetID
	var found bool
	for id, s := range h.sets {
		stale := time.Since(s.since) > laneStale
		switch {
		case s.dead && stale, !s.dead && !s.claimed && s.have < len(s.conns) && stale:
			closeConns(s.conns)
			delete(h.sets, id)
		case !s.dead && !s.claimed && s.have == len(s.conns):
			if !found || s.since.Before(h.sets[oldest].since) {
				oldest, found = id, true
			}
		}
	}
	if found && len(h.sets) >= maxLaneSets {
		closeConns(h.sets[oldest].conns)
		delete(h.sets, oldest)
	}
}

// claim waits (bounded) for the set req names and takes it from the hub.
func (h *laneHub) claim(req proto.Lanes) ([]net.Conn, error) {
	var id lanes.SetID
	if b, err := hex.DecodeString(req.Set); err != nil || len(b) != len(id) || req.Count < 1 || req.Count > lanes.MaxLanes {
		return nil, errors.New("agent: lanes: bad set")
	} else {
		copy(id[:], b)
	}
	h.mu.Lock()
	s, err := h.setLocked(id, req.Count)
	if err == nil && s.claimed {
		err = errors.New("agent: lanes: set claimed twice")
	}
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	s.claimed = true
	h.mu.Unlock()
	wait := h.claimWait
	if wait == 0 {
		wait = laneClaimTimeout
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-s.complete:
	case <-t.C:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.have < len(s.conns) {
		// Kept, dead, so that the lanes still on their way are closed as they come: the
		// daemon reads the command's stdout from them until they end.
		closeConns(s.conns)
		s.dead, s.since = true, time.Now()
		return nil, fmt.Errorf("agent: lanes: %d of %d lanes arrived", s.have, len(s.conns))
	}
	delete(h.sets, id)
	return s.conns, nil
}

// close stops listening and removes the socket's directory.
func (h *laneHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ln != nil {
		h.ln.Close()
		os.RemoveAll(h.dir)
	}
	for _, s := range h.sets {
		closeConns(s.conns)
	}
	h.sets = nil
}

func closeConns(cs []net.Conn) {
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
}

// laneIO is a command's stdin and stdout over a claimed set. stdout is the command's output
// copier's until Process.Wait returns; finish comes after that.
type laneIO struct {
	conns  []net.Conn
	stdin  *cutReader
	stdout *lanes.Writer
}

func newLaneIO(conns []net.Conn) *laneIO {
	rs, ws := make([]io.Reader, len(conns)), make([]io.Writer, len(conns))
	for i, c := range conns {
		rs[i], ws[i] = c, c
	}
	return &laneIO{conns: conns, stdin: &cutReader{r: lanes.NewReader(rs)}, stdout: lanes.NewWriter(ws)}
}

// cutReader is the command's stdin from the lanes, keeping what cut it short: the command sees
// EOF either way (emulation closes its stdin), so the exit must say it.
type cutReader struct {
	r   *lanes.Reader
	mu  sync.Mutex // protects err: the command's stdin copier reads, the exec's goroutine asks
	err error
}

func (c *cutReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.mu.Unlock()
	}
	return n, err
}

// cut is what ended stdin other than its end chunk, nil if nothing did (yet).
func (c *cutReader) cut() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// finish ends stdout (its reader then knows it has it all) and closes the lanes, which ends a
// read of stdin still waiting.
func (l *laneIO) finish() error {
	err := l.stdout.End()
	closeConns(l.conns)
	return err
}
