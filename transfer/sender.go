package transfer

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// entry is one record to send: the file or directory at path, described by hdr.
type entry struct {
	path  string
	shown string // the path as the user named it, for messages
	hdr   Header
}

// walk lists the records for sources (paths as named; resolve makes them absolute): each
// source by its own name, a directory's contents below it when recursive. A source that cannot
// be sent is an entry with hdr.Error, worded as scp words it.
func walk(sources []string, resolve func(string) string, recursive bool) []entry {
	var out []entry
	for _, src := range sources {
		name := src
		for len(name) > 1 && strings.HasSuffix(name, "/") {
			name = name[:len(name)-1]
		}
		base := filepath.Base(name)
		if base == "/" || base == "." || base == ".." {
			out = append(out, entry{hdr: Header{Name: base, Error: src + ": cannot copy " + base}})
			continue
		}
		out = walkOne(out, resolve(name), src, base, recursive, true)
	}
	return out
}

func walkOne(out []entry, path, shown, name string, recursive, top bool) []entry {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return append(out, entry{hdr: Header{Name: name, Error: shown + ": " + errText(err)}})
	}
	h := Header{Name: name, Mode: st.Mode & 0o7777, Size: st.Size,
		Mtime: st.Mtim.Nano(), Atime: st.Atim.Nano()}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return append(out, entry{path: path, shown: shown, hdr: h})
	case unix.S_IFDIR:
		if !recursive {
			break
		}
		names, err := readDirNames(path)
		if err != nil {
			return append(out, entry{hdr: Header{Name: name, Error: shown + ": " + errText(err)}})
		}
		h.Size = 0
		h.Dir = true
		out = append(out, entry{path: path, hdr: h})
		for _, n := range names {
			out = walkOne(out, path+"/"+n, shown+"/"+n, name+"/"+n, true, false)
		}
		return out
	}
	return append(out, entry{hdr: Header{Name: name, Error: shown + ": not a regular file"}})
}

func readDirNames(p string) ([]string, error) {
	d, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// sendOpts are what sendEntry is told about one file.
type sendOpts struct {
	from     int64          // the receiver holds the bytes before this offset
	abandon  func() bool    // the receiver has already failed this file
	progress func(n int64)  // bytes sent
	onOpen   func(*os.File) // for tests: the file was opened
	buf      []byte         // a reusable chunk buffer of 4+chunkSize bytes
}

// sendEntry writes e's record. A file that cannot be read any more is sent as an error header
// (before its content starts) or abandoned (after).
func sendEntry(w io.Writer, e entry, o sendOpts) error {
	if e.hdr.Dir || e.hdr.Error != "" {
		return writeFrame(w, e.hdr)
	}
	f, err := os.Open(e.path)
	if err != nil {
		h := e.hdr
		h.Error = e.shown + ": " + errText(err)
		return writeFrame(w, h)
	}
	defer f.Close()
	h := e.hdr
	h.From = o.from
	if err := writeFrame(w, h); err != nil {
		return err
	}
	sum := sha256.New()
	if o.from > 0 {
		if _, err := io.CopyN(sum, f, o.from); err != nil {
			return writeAbandon(w)
		}
	}
	buf := o.buf
	if len(buf) < 4+chunkSize {
		buf = make([]byte, 4+chunkSize)
	}
	for left := h.Size - o.from; left > 0; {
		if o.abandon != nil && o.abandon() {
			return writeAbandon(w)
		}
		n, err := io.ReadFull(f, buf[4:4+min(int64(chunkSize), left)])
		if err != nil {
			return writeAbandon(w) // shrank or unreadable: the receiver keeps its old file
		}
		binary.BigEndian.PutUint32(buf, uint32(n))
		sum.Write(buf[4 : 4+n])
		if _, err := w.Write(buf[:4+n]); err != nil {
			return err
		}
		if o.progress != nil {
			o.progress(int64(n))
		}
		left -= int64(n)
	}
	var end [4 + sha256.Size]byte
	copy(end[4:], sum.Sum(nil))
	_, err = w.Write(end[:])
	return err
}

func writeAbandon(w io.Writer) error {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], abandoned)
	_, err := w.Write(b[:])
	return err
}

// hashPrefix is the sha256 (hex) of p's first n bytes, or "" when p holds fewer.
func hashPrefix(p string, n int64) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if got, err := io.CopyN(h, f, n); err != nil || got != n {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// errText is strerror(errno), as scp words a file's failure.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, os.ErrPermission):
		return "Permission denied"
	}
	return fmt.Sprint(err)
}
