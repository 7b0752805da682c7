package scpserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mitogen-go/mitogend/internal/atomicfile"
	"golang.org/x/sys/unix"
)

// sinkState is what a sink session keeps across directories.
type sinkState struct {
	reaped   map[string]bool // directories whose abandoned temporary files were removed
	unsynced map[string]bool // directories with renames not yet synced
}

// screwup ends the session as scp's SCREWUP does.
func (c *conn) screwup(why string) error {
	c.runErr("protocol error: %s", why)
	return &fatalError{why}
}

// sinkTop is scp -t TARGET.
func (c *conn) sinkTop(targ string) error {
	shown := c.req.Paths[0]
	if c.req.TargetDir {
		var st unix.Stat_t
		err := unix.Stat(targ, &st)
		if err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			err = unix.ENOTDIR
		}
		if err != nil {
			c.runErr("%s: %s", shown, errText(err))
			return &fatalError{"target is not a directory"}
		}
	}
	st := &sinkState{reaped: map[string]bool{}, unsynced: map[string]bool{}}
	defer func() {
		for dir := range st.unsynced {
			if err := atomicfile.SyncDir(dir); err != nil {
				c.req.Logf("scpserver: %v", err)
			}
		}
	}()
	return c.sink(shown, st)
}

// sink receives records into targ (as the client named it) until EOF or an E record; like
// scp's, every sink (the top one and one per directory) starts by saying it is ready.
func (c *conn) sink(targ string, st *sinkState) error {
	if err := c.ok(); err != nil {
		return err
	}
	var ts unix.Stat_t
	targIsDir := unix.Stat(c.path(targ), &ts) == nil && ts.Mode&unix.S_IFMT == unix.S_IFDIR
	var times []time.Time // from a T record, for the next file or directory
	for first := true; ; first = false {
		line, err := c.readRecord()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch line[0] {
		case '\n':
			return c.screwup("unexpected <newline>")
		case 1, 2:
			c.errs++
			if line[0] == 2 {
				return &fatalError{"fatal message from the source"}
			}
			continue
		case 'E':
			return c.ok()
		case 'T':
			if times, err = parseTimes(line); err != nil {
				return c.screwup(err.Error())
			}
			if err := c.ok(); err != nil {
				return err
			}
			continue
		case 'C', 'D':
		default:
			if first {
				c.runErr("%s", strings.TrimSuffix(line, "\n"))
				return &fatalError{"no control record"}
			}
			return c.screwup("expected control record")
		}
		mode, size, name, why := parseControl(line, c.req.Preserve)
		if why != "" {
			return c.screwup(why)
		}
		if name == "" || strings.Contains(name, "/") || name == "." || name == ".." {
			c.runErr("error: unexpected filename: %s", name)
			return &fatalError{"unexpected filename"}
		}
		np := targ
		if targIsDir {
			np = targ + "/" + name
		}
		if line[0] == 'D' {
			if err := c.sinkDir(np, mode, times, st); err != nil {
				return err
			}
		} else if err := c.sinkFile(np, mode, size, times, st); err != nil {
			return err
		}
		times = nil
	}
}

// readRecord reads one record line, newline included, as scp reads into its 2048-byte buffer.
func (c *conn) readRecord() (string, error) {
	first, err := c.in.ReadByte()
	if err != nil {
		return "", io.EOF
	}
	if first == '\n' {
		return "\n", nil
	}
	var b strings.Builder
	b.WriteByte(first)
	for b.Len() < 2047 {
		ch, err := c.in.ReadByte()
		if err != nil {
			return "", c.screwup("lost connection")
		}
		b.WriteByte(ch)
		if ch == '\n' {
			return b.String(), nil
		}
	}
	return b.String(), nil
}

// parseTimes reads "T<mtime> <usec> <atime> <usec>".
func parseTimes(line string) ([]time.Time, error) {
	f := strings.Fields(strings.TrimSuffix(line[1:], "\n"))
	if len(f) != 4 {
		return nil, errors.New("mtime.sec not delimited")
	}
	var v [4]int64
	for i, s := range f {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, errors.New("mtime.sec out of range")
		}
		v[i] = n
	}
	if v[1] > 999999 || v[3] > 999999 {
		return nil, errors.New("mtime.usec out of range")
	}
	return []time.Time{time.Unix(v[2], v[3]*1000), time.Unix(v[0], v[1]*1000)}, nil
}

// parseControl reads "C0644 123 name" (or D): why is scp's protocol error, if any.
func parseControl(line string, preserve bool) (mode uint32, size int64, name, why string) {
	line = strings.TrimSuffix(line, "\n")
	if len(line) < 6 {
		return 0, 0, "", "bad mode"
	}
	for _, ch := range line[1:5] {
		if ch < '0' || ch > '7' {
			return 0, 0, "", "bad mode"
		}
		mode = mode<<3 | uint32(ch-'0')
	}
	if !preserve {
		mode &= 0o777
	}
	if line[5] != ' ' {
		return 0, 0, "", "mode not delimited"
	}
	rest := line[6:]
	if rest == "" || rest[0] < '0' || rest[0] > '9' {
		return 0, 0, "", "size not present"
	}
	digits, rest, ok := strings.Cut(rest, " ")
	if !ok {
		return 0, 0, "", "size not delimited"
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, 0, "", "size out of range"
	}
	return mode, n, rest, ""
}

// sinkDir is a D record: the directory is made (or reused) and filled by a nested sink.
func (c *conn) sinkDir(np string, mode uint32, times []time.Time, st *sinkState) error {
	if !c.req.Recursive {
		return c.screwup("received directory without -r")
	}
	p := c.path(np)
	setMode := c.req.Preserve
	var s unix.Stat_t
	switch err := unix.Stat(p, &s); {
	case err == nil && s.Mode&unix.S_IFMT != unix.S_IFDIR:
		c.runErr("%s: %s", np, errText(unix.ENOTDIR))
		return nil
	case err == nil:
		if setMode {
			unix.Chmod(p, mode)
		}
	default:
		setMode = true
		if err := unix.Mkdir(p, mode|0o700); err != nil {
			c.runErr("%s: %s", np, errText(err))
			return nil
		}
	}
	if err := c.sink(np, st); err != nil {
		return err
	}
	if times != nil {
		unix.UtimesNano(p, []unix.Timespec{unix.NsecToTimespec(times[0].UnixNano()), unix.NsecToTimespec(times[1].UnixNano())})
	}
	if setMode {
		unix.Chmod(p, mode)
	}
	return nil
}

// sinkFile is a C record: size bytes follow our answer, then the source's status.
func (c *conn) sinkFile(np string, mode uint32, size int64, times []time.Time, st *sinkState) error {
	p := c.path(np)
	w, err := c.openDest(p, mode, st)
	if err != nil {
		c.runErr("%s: %s", np, errText(err))
		return nil
	}
	if err := c.ok(); err != nil {
		w.abort()
		return err
	}
	werr, err := c.receive(w, size)
	if err != nil {
		w.abort()
		return err
	}
	if werr == nil && c.req.Preserve {
		werr = w.chmod(mode)
	}
	good, err := c.response()
	if err != nil {
		w.abort()
		return err
	}
	if werr == nil && times != nil {
		w.chtimes(times)
	}
	switch {
	case werr != nil:
		w.abort()
		c.runErr("%s: %s", np, errText(werr))
	case !good:
		// The source could not read all of its file: keep the old one, as the source's own
		// message already told the client.
		w.abort()
		return c.ok()
	default:
		if err := w.commit(size); err != nil {
			c.runErr("%s: %s", np, errText(err))
			return nil
		}
		return c.ok()
	}
	return nil
}

// receive copies size bytes of file data to w; a write error is kept and the rest drained, as
// scp does, so the session goes on.
func (c *conn) receive(w *destFile, size int64) (werr, err error) {
	buf := make([]byte, min(size, 256<<10))
	for size > 0 {
		n, err := c.in.Read(buf[:min(int64(len(buf)), size)])
		if n == 0 && err != nil {
			return werr, fmt.Errorf("scpserver: lost connection: %w", err)
		}
		if werr == nil {
			_, werr = w.write(buf[:n])
		}
		size -= int64(n)
	}
	return werr, nil
}

// destFile is a file being received: a replacement (af) or, where none can be made, the file
// itself written in place (f).
type destFile struct {
	af *atomicfile.File
	f  *os.File
}

func (c *conn) openDest(p string, mode uint32, st *sinkState) (*destFile, error) {
	dir := filepath.Dir(p)
	if !st.reaped[dir] {
		st.reaped[dir] = true
		atomicfile.Reap(dir)
	}
	af, err := atomicfile.Create(p, atomicfile.Options{Perm: mode, DeferDirSync: true})
	if err == nil {
		st.unsynced[filepath.Dir(af.Dest())] = true
		return &destFile{af: af}, nil
	}
	if !errors.Is(err, atomicfile.ErrNotReplaceable) {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, os.FileMode(mode|0o200))
	if err != nil {
		return nil, err
	}
	return &destFile{f: f}, nil
}

func (w *destFile) write(b []byte) (int, error) {
	if w.af != nil {
		return w.af.Write(b)
	}
	return w.f.Write(b)
}

func (w *destFile) chmod(mode uint32) error {
	if w.af != nil {
		return w.af.Chmod(mode)
	}
	return w.f.Chmod(os.FileMode(mode & 0o777))
}

func (w *destFile) chtimes(t []time.Time) {
	if w.af != nil {
		w.af.Chtimes(t[0], t[1])
		return
	}
	os.Chtimes(w.f.Name(), t[0], t[1])
}

func (w *destFile) commit(size int64) error {
	if w.af != nil {
		return w.af.Commit()
	}
	if st, err := w.f.Stat(); err == nil && st.Mode().IsRegular() {
		w.f.Truncate(size)
	}
	return w.f.Close()
}

func (w *destFile) abort() {
	if w.af != nil {
		w.af.Abort()
		return
	}
	w.f.Close()
}
