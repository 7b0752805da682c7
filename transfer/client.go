package transfer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Options shape a Push or Pull.
type Options struct {
	Recursive bool // -r: directories and what they hold
	Preserve  bool // -p: modes and times of the sources
	Checksum  bool // skip files whose destination already holds the same content (sha256)
	Resume    bool // write through partial files, and go on from those a transfer left
	// Start, if set, is told how many bytes the transfer will send (Push; Pull learns sizes as
	// files come and reports -1); Progress of every chunk sent or received.
	Start    func(total int64)
	Progress func(n int64)
	// Trace, if set, sees the local file system steps of a Pull (atomicfile.Options.Trace).
	Trace func(step, path string)
}

// Summary is what a transfer did.
type Summary struct {
	Files   int      // files written
	Bytes   int64    // their size
	Skipped int      // files left alone (Checksum: already the same)
	Errors  []string // one message per file that failed, as scp words them ("path: reason")
}

// Push sends local sources to target on context dst. A failure of the transfer as a whole
// (the stream lost) is the error; files that failed are in Summary.Errors.
func Push(ctx context.Context, ep *tunnel.Endpoint, dst router.ID, sources []string, target string, o Options) (Summary, error) {
	var sum Summary
	var send []entry
	for _, e := range walk(sources, func(p string) string { return p }, o.Recursive) {
		if e.hdr.Error != "" {
			sum.Errors = append(sum.Errors, e.hdr.Error)
			continue
		}
		send = append(send, e)
	}
	req := proto.PutRequest{Target: target, ToDir: len(sources) > 1, Preserve: o.Preserve, Resume: o.Resume}
	from := make([]int64, len(send))
	if o.Checksum || o.Resume {
		var err error
		if send, from, err = probe(ctx, ep, dst, req, send, o, &sum); err != nil {
			return sum, err
		}
	}
	var total int64
	for i, e := range send {
		total += e.hdr.Size - from[i]
	}
	if o.Start != nil {
		o.Start(total)
	}
	return sum, put(ctx, ep, dst, req, send, from, o, &sum)
}

// put runs one AgentPut: what fits in the open payload rides there, the rest streams.
func put(ctx context.Context, ep *tunnel.Endpoint, dst router.ID, req proto.PutRequest, send []entry, from []int64, o Options, sum *Summary) error {
	var inline bytes.Buffer
	n := 0
	for ; n < len(send); n++ {
		e := send[n]
		size := e.hdr.Size - from[n]
		if !e.hdr.Dir && (size > InlineMax || int64(inline.Len())+size > inlineBudget) {
			break
		}
		if err := sendEntry(&inline, e, sendOpts{from: from[n], progress: o.Progress}); err != nil {
			return err
		}
	}
	req.Complete = n == len(send)
	st, err := ep.Open(ctx, dst, proto.AgentPut, putPayload(req, inline.Bytes()))
	if err != nil {
		return err
	}
	defer st.Close()
	defer context.AfterFunc(ctx, func() { st.Close() })() // interrupted: the agent drops the files
	res := collect(st)
	if !req.Complete {
		w := bufio.NewWriterSize(st, 256<<10)
		buf := make([]byte, 4+chunkSize)
		for i := n; i < len(send); i++ {
			i := i
			err := sendEntry(w, send[i], sendOpts{from: from[i], progress: o.Progress, buf: buf,
				abandon: func() bool { return res.failed(i) }})
			if err != nil {
				break // the stream failed: the results say how
			}
		}
		w.Flush()
		st.CloseWrite()
	}
	return res.summarize(send, sum)
}

func putPayload(req proto.PutRequest, records []byte) []byte {
	j, _ := json.Marshal(req)
	b := binary.BigEndian.AppendUint32(nil, uint32(len(j)))
	return append(append(b, j...), records...)
}

// results gathers a put's results as they come.
type results struct {
	mu     sync.Mutex
	errs   map[int]string
	done   chan struct{}
	final  *Result
	err    error
	closer io.Closer
}

func collect(st *tunnel.Stream) *results {
	r := &results{errs: map[int]string{}, done: make(chan struct{}), closer: st}
	go func() {
		defer close(r.done)
		in := bufio.NewReader(st)
		for {
			var res Result
			if err := readFrame(in, &res); err != nil {
				r.err = err
				return
			}
			r.mu.Lock()
			if res.Error != "" && r.errs[res.Index] == "" && !res.Done {
				r.errs[res.Index] = res.Error
			}
			r.mu.Unlock()
			if res.Done {
				r.final = &res
				return
			}
		}
	}()
	return r
}

func (r *results) failed(i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs[i] != ""
}

func (r *results) summarize(send []entry, sum *Summary) error {
	<-r.done
	if r.final == nil {
		if r.err == nil || errors.Is(r.err, io.EOF) {
			r.err = errors.New("transfer: the agent ended the transfer early")
		}
		return r.err
	}
	for i, e := range send {
		switch {
		case r.errs[i] != "":
			sum.Errors = append(sum.Errors, r.errs[i])
		case !e.hdr.Dir:
			sum.Files++
			sum.Bytes += e.hdr.Size
		}
	}
	if r.final.Error != "" {
		sum.Errors = append(sum.Errors, r.final.Error)
	}
	return nil
}

// probe asks the agent which files to skip (Checksum) and where partial files let others
// resume (Resume): one round trip for all of them.
func probe(ctx context.Context, ep *tunnel.Endpoint, dst router.ID, req proto.PutRequest, send []entry, o Options, sum *Summary) ([]entry, []int64, error) {
	req.Probe, req.Complete = true, true
	var hdrs bytes.Buffer
	for _, e := range send {
		h := e.hdr
		if o.Checksum && !h.Dir {
			h.SHA256 = hashPrefix(e.path, h.Size)
		}
		writeFrame(&hdrs, h)
	}
	st, err := ep.Open(ctx, dst, proto.AgentPut, putPayload(req, hdrs.Bytes()))
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	in := bufio.NewReader(st)
	var keep []entry
	var from []int64
	for i := 0; ; i++ {
		var res Result
		if err := readFrame(in, &res); err != nil {
			return nil, nil, fmt.Errorf("transfer: probe: %w", err)
		}
		if res.Done {
			return keep, from, nil
		}
		if res.Index != i || i >= len(send) {
			return nil, nil, fmt.Errorf("%w: probe result %d", errProtocol, res.Index)
		}
		if res.Same {
			sum.Skipped++
			continue
		}
		var f int64
		if p := res.Partial; p != nil && hashPrefix(send[i].path, p.Offset) == p.SHA256 {
			f = p.Offset
		}
		keep = append(keep, send[i])
		from = append(from, f)
	}
}

// Pull fetches sources from context dst into the local target.
func Pull(ctx context.Context, ep *tunnel.Endpoint, dst router.ID, sources []string, target string, o Options) (Summary, error) {
	var sum Summary
	abs, err := filepath.Abs(target)
	if err != nil {
		return sum, err
	}
	rc := newReceiver(abs, target, len(sources) > 1)
	rc.preserve, rc.resume, rc.progress, rc.trace = o.Preserve, o.Resume, o.Progress, o.Trace
	req := proto.GetRequest{Sources: sources, Recursive: o.Recursive, Preserve: o.Preserve}
	if o.Resume {
		req.Resume = localPartials(rc, sources)
	}
	if o.Start != nil {
		o.Start(-1)
	}
	payload, _ := json.Marshal(req)
	st, err := ep.Open(ctx, dst, proto.AgentGet, payload)
	if err != nil {
		return sum, err
	}
	defer st.Close()
	defer context.AfterFunc(ctx, func() { st.Close() })()
	errs := map[int]string{}
	var final *Result
	sizes := map[int]int64{}
	rc.report = func(r Result) error {
		switch {
		case r.Done:
			final = &r
		case r.Error != "":
			if errs[r.Index] == "" {
				errs[r.Index] = r.Error
			}
		}
		return nil
	}
	rc.onFile = func(i int, size int64) { sizes[i] = size }
	if err := rc.run(bufio.NewReaderSize(st, 256<<10)); err != nil {
		return sum, err
	}
	for i := 0; i < rc.index; i++ {
		if e := errs[i]; e != "" {
			sum.Errors = append(sum.Errors, e)
		} else if size, ok := sizes[i]; ok {
			sum.Files++
			sum.Bytes += size
		}
	}
	if final != nil && final.Error != "" {
		sum.Errors = append(sum.Errors, final.Error)
	}
	return sum, nil
}

// localPartials says, per source, what the partial file of its local destination holds.
func localPartials(rc *receiver, sources []string) map[string]proto.ResumePoint {
	out := map[string]proto.ResumePoint{}
	for _, src := range sources {
		p, _ := rc.dest(filepath.Base(src))
		real, err := atomicfile.Resolve(p)
		if err != nil {
			continue
		}
		part := filepath.Join(filepath.Dir(real), atomicfile.PartialName(filepath.Base(real)))
		st, err := os.Stat(part)
		if err != nil || st.Size() == 0 {
			continue
		}
		f, err := os.Open(part)
		if err != nil {
			continue
		}
		h := sha256.New()
		io.Copy(h, f)
		f.Close()
		out[src] = proto.ResumePoint{Offset: st.Size(), SHA256: hex.EncodeToString(h.Sum(nil))}
	}
	return out
}
