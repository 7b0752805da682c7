package transfer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mitogen-go/mitogend/proto"
)

// Stream is the agent's end of an AgentPut or AgentGet stream.
type Stream interface {
	io.Reader
	io.Writer
	CloseWrite() error
}

// Resolve makes a path as a user names it on the target absolute: "~" and "~/" name home, and
// relative paths start there, as sshd starts scp and sftp there.
func Resolve(p, home string) string {
	switch {
	case p == "~":
		return home
	case strings.HasPrefix(p, "~/"):
		return filepath.Join(home, p[2:])
	case p == "":
		return home
	case filepath.IsAbs(p) || home == "":
		return p
	}
	return filepath.Join(home, p)
}

// ServePut receives the files of one AgentPut stream (payload is its open payload) and answers
// with results, then ends the stream's output.
func ServePut(st Stream, payload []byte, home string) error {
	defer st.CloseWrite()
	req, inline, err := parsePut(payload)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(st, 64<<10)
	var mu sync.Mutex
	rc := newReceiver(Resolve(req.Target, home), req.Target, req.ToDir)
	rc.preserve, rc.resume = req.Preserve, req.Resume
	rc.report = func(r Result) error {
		mu.Lock()
		defer mu.Unlock()
		if err := writeFrame(out, r); err != nil {
			return err
		}
		if r.Error != "" || r.Done {
			return out.Flush() // the sender acts on failures at once
		}
		return nil
	}
	var in io.Reader = bytes.NewReader(inline)
	if !req.Complete {
		in = io.MultiReader(in, st)
	}
	r := bufio.NewReaderSize(in, 256<<10)
	if req.Probe {
		return servePutProbe(rc, r)
	}
	return rc.run(r)
}

func servePutProbe(rc *receiver, r *bufio.Reader) error {
	for i := 0; ; i++ {
		var h Header
		err := readFrame(r, &h)
		if err == io.EOF {
			return rc.report(Result{Index: i, Done: true})
		}
		if err != nil {
			return err
		}
		res := rc.probe(h)
		res.Index, res.Name = i, h.Name
		if err := rc.report(res); err != nil {
			return err
		}
	}
}

func parsePut(p []byte) (proto.PutRequest, []byte, error) {
	var req proto.PutRequest
	if len(p) < 4 || binary.BigEndian.Uint32(p) > uint32(len(p)-4) {
		return req, nil, fmt.Errorf("transfer: bad put request")
	}
	n := binary.BigEndian.Uint32(p)
	if err := json.Unmarshal(p[4:4+n], &req); err != nil {
		return req, nil, fmt.Errorf("transfer: bad put request: %w", err)
	}
	return req, p[4+n:], nil
}

// ServeGet sends the files an AgentGet names, then ends the stream's output.
func ServeGet(st Stream, payload []byte, home string) error {
	defer st.CloseWrite()
	var req proto.GetRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return fmt.Errorf("transfer: bad get request: %w", err)
	}
	entries := walk(req.Sources, func(p string) string { return Resolve(p, home) }, req.Recursive)
	w := bufio.NewWriterSize(st, 256<<10)
	buf := make([]byte, 4+chunkSize)
	top := 0
	for _, e := range entries {
		var from int64
		if !strings.Contains(e.hdr.Name, "/") {
			if rp, ok := req.Resume[req.Sources[min(top, len(req.Sources)-1)]]; ok && !e.hdr.Dir && rp.Offset <= e.hdr.Size &&
				hashPrefix(e.path, rp.Offset) == rp.SHA256 {
				from = rp.Offset
			}
			top++
		}
		if err := sendEntry(w, e, sendOpts{from: from, buf: buf}); err != nil {
			return err
		}
	}
	return w.Flush()
}
