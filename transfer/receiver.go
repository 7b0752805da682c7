package transfer

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"github.com/mitogen-go/mitogend/proto"
	"golang.org/x/sys/unix"
)

// receiver writes the records of one transfer under its target.
type receiver struct {
	target   string // absolute
	shown    string // as the user named it
	toDir    bool
	preserve bool
	resume   bool
	report   func(Result) error
	progress func(n int64)
	trace    func(step, path string)
	onFile   func(index int, size int64) // a file was written whole

	targIsDir bool
	index     int
	dirs      []dirAttrs
	reaped    map[string]bool
	unsynced  map[string]bool
	buf       []byte
}

type dirAttrs struct {
	path         string
	mode         uint32
	setMode      bool
	times        bool
	atime, mtime int64
}

func newReceiver(target, shown string, toDir bool) *receiver {
	rc := &receiver{target: target, shown: shown, toDir: toDir, reaped: map[string]bool{}, unsynced: map[string]bool{}}
	var st unix.Stat_t
	rc.targIsDir = unix.Stat(target, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
	rc.report = func(Result) error { return nil }
	return rc
}

// errProtocol ends a transfer whose sender broke the format.
var errProtocol = errors.New("transfer: protocol error")

// run handles records until r ends, then makes the renames durable and reports Done.
func (rc *receiver) run(r *bufio.Reader) error {
	if rc.toDir && !rc.targIsDir {
		return rc.report(Result{Error: rc.shown + ": " + errText(unix.ENOTDIR), Done: true})
	}
	for ; ; rc.index++ {
		var h Header
		err := readFrame(r, &h)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		res, err := rc.record(r, h)
		if err != nil {
			return err
		}
		res.Index, res.Name = rc.index, h.Name
		if err := rc.report(res); err != nil {
			return err
		}
	}
	return rc.report(Result{Index: rc.index, Done: true, Error: rc.finish()})
}

// dest maps a record's name to the path it is written to and the one messages name.
func (rc *receiver) dest(name string) (string, string) {
	if rc.targIsDir {
		return filepath.Join(rc.target, name), rc.shown + "/" + name
	}
	_, rest, _ := strings.Cut(name, "/")
	if rest == "" {
		return rc.target, rc.shown
	}
	return filepath.Join(rc.target, rest), rc.shown + "/" + rest
}

func (rc *receiver) record(r *bufio.Reader, h Header) (Result, error) {
	if !validName(h.Name) || h.Size < 0 || h.From < 0 || h.From > h.Size || (h.From > 0 && !rc.resume) {
		return Result{}, fmt.Errorf("%w: record %q", errProtocol, h.Name)
	}
	if h.Error != "" {
		return Result{Error: h.Error}, nil
	}
	p, shown := rc.dest(h.Name)
	if h.Dir {
		return rc.dir(p, shown, h), nil
	}
	if !strings.Contains(h.Name, "/") && rc.toDir && !rc.targIsDir {
		return rc.drain(r, Result{Error: rc.shown + ": " + errText(unix.ENOTDIR)})
	}
	return rc.file(r, p, shown, h)
}

func (rc *receiver) dir(p, shown string, h Header) Result {
	d := dirAttrs{path: p, mode: h.Mode, times: rc.preserve, atime: h.Atime, mtime: h.Mtime}
	var st unix.Stat_t
	switch err := unix.Stat(p, &st); {
	case err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return Result{Error: shown + ": " + errText(unix.ENOTDIR)}
	case err == nil:
		d.setMode = rc.preserve
	default:
		// A new directory gets its source's permissions, as scp gives them (after its
		// contents are written: it must stay writable until then).
		if err := unix.Mkdir(p, h.Mode&0o777|0o700); err != nil {
			return Result{Error: shown + ": " + errText(err)}
		}
		d.setMode = true
		if !rc.preserve {
			d.mode &= 0o777
		}
	}
	rc.dirs = append(rc.dirs, d)
	return Result{}
}

// file writes one file's content to a replacement of p.
func (rc *receiver) file(r *bufio.Reader, p, shown string, h Header) (Result, error) {
	dir := filepath.Dir(p)
	if !rc.reaped[dir] {
		rc.reaped[dir] = true
		atomicfile.Reap(dir)
	}
	af, err := atomicfile.Create(p, atomicfile.Options{Perm: h.Mode & 0o777, Partial: rc.resume, DeferDirSync: true, Trace: rc.trace})
	if err != nil {
		return rc.drain(r, Result{Error: shown + ": " + errText(err)})
	}
	rc.unsynced[filepath.Dir(af.Dest())] = true
	sum := sha256.New()
	if err := rc.prepare(af, h, sum); err != nil {
		af.Discard()
		return rc.drain(r, Result{Error: shown + ": " + errText(err)})
	}
	werr, complete, err := rc.content(r, af, h, sum)
	if err != nil {
		af.Abort()
		return Result{}, err
	}
	switch {
	case werr != nil:
		af.Abort()
		return Result{Error: shown + ": " + errText(werr)}, nil
	case !complete:
		af.Abort() // the sender gave up on it: the old file stays
		return Result{Error: shown + ": transfer abandoned"}, nil
	}
	if rc.preserve {
		if err := af.Chmod(h.Mode); err != nil {
			af.Abort()
			return Result{Error: shown + ": " + errText(err)}, nil
		}
		af.Chtimes(time.Unix(0, h.Atime), time.Unix(0, h.Mtime))
	}
	if err := af.Commit(); err != nil {
		return Result{Error: shown + ": " + errText(err)}, nil
	}
	if rc.onFile != nil {
		rc.onFile(rc.index, h.Size)
	}
	return Result{}, nil
}

// prepare sets the replacement up for content from h.From on: a partial file is cut to the
// bytes it keeps (which go into sum), space for the rest is reserved.
func (rc *receiver) prepare(af *atomicfile.File, h Header, sum hash.Hash) error {
	f := af.File()
	if h.From > 0 {
		if _, err := io.CopyN(sum, f, h.From); err != nil {
			return fmt.Errorf("resume: %w", err)
		}
	}
	if err := f.Truncate(h.From); err != nil {
		return err
	}
	if _, err := f.Seek(h.From, io.SeekStart); err != nil {
		return err
	}
	return af.Reserve(h.Size - h.From)
}

// content reads a file's chunks into af (werr: the first write error; the rest is drained) and
// its end: complete when the sender finished it and the sha256 matched.
func (rc *receiver) content(r *bufio.Reader, af *atomicfile.File, h Header, sum hash.Hash) (werr error, complete bool, err error) {
	want := h.Size - h.From
	var got int64
	reported := false
	for {
		n, err := readChunkLen(r)
		if err != nil {
			return werr, false, err
		}
		switch {
		case n == abandoned:
			return werr, false, nil
		case n == 0:
			var end [sha256.Size]byte
			if _, err := io.ReadFull(r, end[:]); err != nil {
				return werr, false, errProtocol
			}
			if werr == nil && got != want {
				werr = fmt.Errorf("received %d bytes of %d", got, want)
			}
			if werr == nil && !slices.Equal(sum.Sum(nil), end[:]) {
				werr = errors.New("checksum mismatch")
			}
			return werr, werr == nil, nil
		case n > maxChunk || got+int64(n) > want:
			return werr, false, fmt.Errorf("%w: chunk of %d bytes", errProtocol, n)
		}
		if cap(rc.buf) < int(n) {
			rc.buf = make([]byte, maxChunk)
		}
		b := rc.buf[:n]
		if _, err := io.ReadFull(r, b); err != nil {
			return werr, false, errProtocol
		}
		got += int64(n)
		if rc.progress != nil {
			rc.progress(int64(n))
		}
		if werr != nil {
			continue
		}
		sum.Write(b)
		if _, werr = af.Write(b); werr != nil && !reported {
			// Say so at once, so that the sender stops sending this file; the final result
			// repeats it.
			reported = true
			rc.report(Result{Index: rc.index, Name: h.Name, Error: errText(werr)})
		}
	}
}

// drain skips a file's content after it failed before any was written.
func (rc *receiver) drain(r *bufio.Reader, res Result) (Result, error) {
	rc.report(Result{Index: rc.index, Error: res.Error})
	for {
		n, err := readChunkLen(r)
		switch {
		case err != nil:
			return res, err
		case n == abandoned:
			return res, nil
		case n == 0:
			_, err := r.Discard(sha256.Size)
			return res, err
		case n > maxChunk:
			return res, errProtocol
		}
		if _, err := r.Discard(int(n)); err != nil {
			return res, err
		}
	}
}

func readChunkLen(r *bufio.Reader) (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, errProtocol
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

// finish makes the renames durable and gives directories their times, deepest first (writing
// into a directory changes its times).
func (rc *receiver) finish() string {
	var first error
	for dir := range rc.unsynced {
		if err := atomicfile.SyncDir(dir); err != nil && first == nil {
			first = err
		}
	}
	for i := len(rc.dirs) - 1; i >= 0; i-- {
		d := rc.dirs[i]
		if d.setMode {
			unix.Chmod(d.path, d.mode)
		}
		if d.times {
			unix.UtimesNano(d.path, []unix.Timespec{unix.NsecToTimespec(d.atime), unix.NsecToTimespec(d.mtime)})
		}
	}
	if first != nil {
		return errText(first)
	}
	return ""
}

// probe answers a probe record: whether p already holds the content, and what its partial file
// holds.
func (rc *receiver) probe(h Header) Result {
	if !validName(h.Name) || h.Dir {
		return Result{}
	}
	p, _ := rc.dest(h.Name)
	real, err := atomicfile.Resolve(p)
	if err != nil {
		return Result{}
	}
	var res Result
	if h.SHA256 != "" {
		if st, err := os.Stat(real); err == nil && st.Mode().IsRegular() && st.Size() == h.Size {
			res.Same = hashPrefix(real, h.Size) == h.SHA256
		}
	}
	if rc.resume && !res.Same {
		part := filepath.Join(filepath.Dir(real), atomicfile.PartialName(filepath.Base(real)))
		if st, err := os.Stat(part); err == nil && st.Size() > 0 && st.Size() <= h.Size {
			if sha := hashPrefix(part, st.Size()); sha != "" {
				res.Partial = &proto.ResumePoint{Offset: st.Size(), SHA256: sha}
			}
		}
	}
	return res
}
