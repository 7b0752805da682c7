// Command hostile is a hostile agent for the end-to-end tests, written from router/spec.md
// with its own frame encoding rather than from the real agent. The daemon sends it to a target
// and starts it as it would start mitogen-agent; it then attacks the daemon and the callers of
// other targets the way whoever holds root on a target could.
//
// It reads what to do from $HOME/.mitogen-hostile on the target (one mode name; "late" is an
// honest agent held back until the test says, see main); without that
// file it is the real agent, so one build serves the honest and the hostile targets of a test.
// Every attack stops by itself: after its frame budget, after a minute, or when its link fails.
//
// It is a test program, not part of mitogend.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mitogen-go/mitogend/agent"
)

// Frame kinds and service handles, from router/spec.md and package proto.
const (
	kindHello         = 1
	kindRequest       = 2
	kindReply         = 3
	kindDead          = 4
	kindDisconnect    = 5
	kindOpen          = 16
	kindOpenOK        = 17
	kindData          = 19
	kindEOF           = 22
	kindClose         = 23
	kindStreamRequest = 24

	agentExec   = 16
	agentSpawn  = 18
	agentLanes  = 26
	agentRoute  = 19
	daemonConn  = 1
	daemonStop  = 3
	firstHandle = 1025
)

// deadline ends every attack that nothing else ends.
const deadline = time.Minute

func main() {
	mode, _ := os.ReadFile(filepath.Join(os.Getenv("HOME"), ".mitogen-hostile"))
	if strings.TrimSpace(string(mode)) == "late" {
		// An honest agent that starts only once the test opens the FIFO $HOME/.mitogen-late
		// for writing: the daemon's bootstrap is held at its last step for as long as the test
		// wants, with nothing timed.
		if f, err := os.Open(filepath.Join(os.Getenv("HOME"), ".mitogen-late")); err == nil {
			f.Close()
		}
		mode = nil
	}
	if len(mode) == 0 {
		logger := log.New(os.Stderr, fmt.Sprintf("mitogen-agent[%d]: ", os.Getpid()), 0)
		if err := agent.Run(context.Background(), agent.Config{In: os.Stdin, Out: os.Stdout, Environ: os.Environ(), Logf: logger.Printf}); err != nil {
			os.Exit(1)
		}
		return
	}
	h := &hostile{in: bufio.NewReader(os.Stdin), out: bufio.NewWriterSize(os.Stdout, 256<<10)}
	if err := h.run(strings.TrimSpace(string(mode))); err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

type hostile struct {
	in   *bufio.Reader
	out  *bufio.Writer
	self uint32 // the id the daemon gave us
}

type frame struct {
	kind, flags                  byte
	dst, src, handle, replyTo, n uint32
	payload                      []byte
}

func (h *hostile) write(kind byte, dst, handle, replyTo uint32, payload []byte) error {
	return h.writeAs(h.self, kind, dst, handle, replyTo, payload)
}

// writeAs sends a frame claiming to come from src.
func (h *hostile) writeAs(src uint32, kind byte, dst, handle, replyTo uint32, payload []byte) error {
	var hdr [24]byte
	binary.BigEndian.PutUint16(hdr[0:], 0x6d67)
	hdr[2] = kind
	binary.BigEndian.PutUint32(hdr[4:], dst)
	binary.BigEndian.PutUint32(hdr[8:], src)
	binary.BigEndian.PutUint32(hdr[12:], handle)
	binary.BigEndian.PutUint32(hdr[16:], replyTo)
	binary.BigEndian.PutUint32(hdr[20:], uint32(len(payload)))
	h.out.Write(hdr[:])
	_, err := h.out.Write(payload)
	return err
}

func (h *hostile) read() (frame, error) {
	var hdr [24]byte
	if _, err := io.ReadFull(h.in, hdr[:]); err != nil {
		return frame{}, err
	}
	f := frame{kind: hdr[2], flags: hdr[3], dst: binary.BigEndian.Uint32(hdr[4:]), src: binary.BigEndian.Uint32(hdr[8:]),
		handle: binary.BigEndian.Uint32(hdr[12:]), replyTo: binary.BigEndian.Uint32(hdr[16:]), n: binary.BigEndian.Uint32(hdr[20:])}
	if f.n > 1<<20 {
		return frame{}, fmt.Errorf("frame of %d bytes", f.n)
	}
	f.payload = make([]byte, f.n)
	_, err := io.ReadFull(h.in, f.payload)
	return f, err
}

// hello is the handshake of spec section 2: ours first, then the daemon's naming our id.
func (h *hostile) hello() error {
	b, _ := json.Marshal(map[string]any{"version": 2, "id": 0, "parent": 0,
		"info": map[string]string{"pid": fmt.Sprint(os.Getpid()), "os": "linux\x1b[2J", "arch": "amd64", "exe": "memfd"}})
	h.write(kindHello, 0, 0, 0, b)
	if err := h.out.Flush(); err != nil {
		return err
	}
	f, err := h.read()
	if err != nil || f.kind != kindHello {
		return fmt.Errorf("no hello from the daemon: %v", err)
	}
	var answer struct{ ID uint32 }
	if err := json.Unmarshal(f.payload, &answer); err != nil {
		return err
	}
	h.self = answer.ID
	return nil
}

// serveOneExec answers the first exec open as an honest agent would (exit status 0), so the
// call that bootstrapped us succeeds and the test knows we are running.
func (h *hostile) serveOneExec() error {
	for {
		f, err := h.read()
		if err != nil {
			return err
		}
		if f.kind != kindOpen || f.handle != agentExec {
			continue
		}
		const ours = 5000
		win := []byte{0, 0x80, 0, 0}
		h.write(kindOpenOK, f.src, f.replyTo, ours, win)
		h.write(kindStreamRequest, f.src, f.replyTo, ours, append([]byte("exit-status\x00"), 0, 0, 0, 0))
		h.write(kindEOF, f.src, f.replyTo, ours, nil)
		h.write(kindClose, f.src, f.replyTo, ours, nil)
		return h.out.Flush()
	}
}

func (h *hostile) run(mode string) error {
	if err := h.hello(); err != nil {
		return err
	}
	if mode == "lanes-cut" || mode == "lanes-hang" {
		return h.lanesCut(mode == "lanes-hang")
	}
	if err := h.serveOneExec(); err != nil {
		return err
	}
	switch mode {
	case "forge":
		go io.Copy(io.Discard, h.in) // keep our own link healthy
		return h.forge()
	case "flood-close":
		return h.floodOpenOK() // and never read again
	case "flood-data":
		go io.Copy(io.Discard, h.in)
		return h.floodData()
	case "data-before-accept", "accept-twice":
		return h.outOfTurn(mode)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// forge sweeps the ids and handles other callers have (both are handed out in sequence):
// answers to their pending calls naming us as the context to use, Dead notices for their
// streams, the same claiming to come from the daemon or the other context, Disconnects of
// other contexts, exec opens on other targets and on our parent, attempts to spawn and route
// contexts through any agent, and calls to the daemon's own services.
func (h *hostile) forge() error {
	reply, _ := json.Marshal(map[string]any{"context": h.self, "reused": true, "host": "hostile"})
	execReq, _ := json.Marshal(map[string]string{"command": "touch \"$HOME/pwned-by-hostile\""})
	open := append([]byte{0, 0x80, 0, 0}, execReq...)
	spawnReq, _ := json.Marshal(map[string]any{"id": 60, "name": "x", "argv": []string{"/bin/sh", "-c", "touch /tmp/pwned-by-hostile-spawn"}})
	spawn := append([]byte{0, 0x80, 0, 0}, spawnReq...)
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		for id := uint32(0); id < 64; id++ {
			if id == h.self {
				continue
			}
			for handle := uint32(firstHandle); handle < firstHandle+8; handle++ {
				h.write(kindReply, id, handle, 0, reply)
				h.write(kindDead, id, handle, 0, []byte("router: context 0: no route to context"))
				h.writeAs(0, kindDead, id, handle, 0, []byte("router: context 0: spoofed"))
			}
			h.writeAs(id, kindDisconnect, 0, 0, 0, nil)
			h.write(kindOpen, id, agentExec, 7000+id, open)
			h.write(kindOpen, id, agentSpawn, 7100+id, spawn)
			h.write(kindRequest, id, agentRoute, 7200+id, []byte(`{"id":61,"via":`+fmt.Sprint(h.self)+`}`))
		}
		h.write(kindRequest, 0, daemonStop, 8000, nil)
		h.write(kindRequest, 0, daemonConn, 8001, []byte(`{"host":"127.0.0.1"}`))
		if err := h.out.Flush(); err != nil {
			return nil // the daemon dropped us: the attack is over
		}
		time.Sleep(time.Millisecond) // leave the machine to the callers under test
	}
	return nil
}

// floodOpenOK sends confirmations of opens nobody made, each of which the daemon answers with a
// Close, while never reading those answers.
func (h *hostile) floodOpenOK() error {
	win := []byte{0, 0x80, 0, 0}
	end := time.Now().Add(deadline)
	for i := uint32(0); i < 32<<20 && time.Now().Before(end); i++ {
		h.write(kindOpenOK, 0, firstHandle+i, firstHandle+i, win)
		if h.out.Buffered() > 128<<10 && h.out.Flush() != nil {
			return nil
		}
	}
	return h.out.Flush()
}

// floodData sends stream data to the first handles of the first few contexts (where a test's
// clients are), far beyond any window.
func (h *hostile) floodData() error {
	chunk := make([]byte, 256<<10)
	end := time.Now().Add(deadline)
	for sent := 0; sent < 8<<30 && time.Now().Before(end); {
		for id := uint32(1); id < 8; id++ {
			if id == h.self {
				continue
			}
			for handle := uint32(firstHandle); handle < firstHandle+4; handle++ {
				h.write(kindData, id, handle, 5000, chunk)
				sent += len(chunk)
			}
		}
		if h.out.Flush() != nil {
			return nil
		}
	}
	return nil
}

// outOfTurn answers every later exec open against the order of spec section 5.1: with data
// before its accept (the open must fail, the data never be shown, the accept that follows be
// closed), or with a second accept after the first (the stream must be reset, so the exit
// status that follows is never believed).
func (h *hostile) outOfTurn(mode string) error {
	win := []byte{0, 0x80, 0, 0}
	exit0 := append([]byte("exit-status\x00"), 0, 0, 0, 0)
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		f, err := h.read()
		if err != nil {
			return err
		}
		if f.kind != kindOpen || f.handle != agentExec {
			continue
		}
		const ours = 5100
		if mode == "data-before-accept" {
			h.write(kindData, f.src, f.replyTo, ours, []byte("out-of-turn data\n"))
			h.write(kindOpenOK, f.src, f.replyTo, ours, win)
		} else {
			h.write(kindOpenOK, f.src, f.replyTo, ours, win)
			h.write(kindOpenOK, f.src, f.replyTo, ours+1, win)
		}
		h.write(kindStreamRequest, f.src, f.replyTo, ours, exit0)
		h.write(kindEOF, f.src, f.replyTo, ours, nil)
		h.write(kindClose, f.src, f.replyTo, ours, nil)
		if err := h.out.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// lanesCut serves lanes as spec section 5.9 and internal/lanes describe them (a socket, the
// ack of a complete set), then answers a command given lanes with a piece of stdout, a chunk
// length above the maximum on the next lane, and exit status 0: the daemon must not report
// the command as a success, nor hang on lanes it keeps open. With hang (lanes-hang) the piece
// of stdout is all it sends on the lanes, and it neither ends stdout nor closes them before
// the exit, as the spec says it must. Commands without lanes exit 0.
func (h *hostile) lanesCut(hang bool) error {
	dir, err := os.MkdirTemp("", "hostile-lanes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	defer ln.Close()
	sets := make(chan []net.Conn, 4)
	go acceptLanes(ln, sets)
	win := []byte{0, 0x80, 0, 0}
	exit0 := append([]byte("exit-status\x00"), 0, 0, 0, 0)
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		f, err := h.read()
		if err != nil {
			return err
		}
		switch {
		case f.kind == kindRequest && f.handle == agentLanes:
			b, _ := json.Marshal(map[string]string{"path": sock})
			h.write(kindReply, f.src, f.replyTo, 0, b)
		case f.kind == kindOpen && f.handle == agentExec:
			const ours = 5200
			h.write(kindOpenOK, f.src, f.replyTo, ours, win)
			if len(f.payload) > 4 && strings.Contains(string(f.payload[4:]), `"lanes"`) {
				set := <-sets
				set[0].Write(append([]byte{0, 0, 0, 5}, "cut-\n"...))
				if !hang {
					set[1%len(set)].Write([]byte{0xff, 0xff, 0xff, 0xff, 'x'}) // far above 256 KiB, and the lanes stay open
				}
			}
			h.write(kindStreamRequest, f.src, f.replyTo, ours, exit0)
			h.write(kindEOF, f.src, f.replyTo, ours, nil)
			h.write(kindClose, f.src, f.replyTo, ours, nil)
		}
		if err := h.out.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// acceptLanes gathers lanes by their hellos (26 bytes: magic, set, index, count) and acks each
// complete set on its lane 0.
func acceptLanes(ln net.Listener, sets chan<- []net.Conn) {
	gathering := map[string][]net.Conn{}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		var hello [26]byte
		if _, err := io.ReadFull(c, hello[:]); err != nil {
			c.Close()
			continue
		}
		id, index, count := string(hello[8:24]), int(hello[24]), int(hello[25])
		if count == 0 || index >= count {
			c.Close()
			continue
		}
		if gathering[id] == nil {
			gathering[id] = make([]net.Conn, count)
		}
		gathering[id][index] = c
		complete := true
		for _, l := range gathering[id] {
			complete = complete && l != nil
		}
		if complete {
			gathering[id][0].Write([]byte{1})
			sets <- gathering[id]
			delete(gathering, id)
		}
	}
}
