// Package transfer copies files between a local file system and an agent's (the AgentPut and
// AgentGet services of package proto) so that each destination is always the old file or the
// new one: every file received goes through package internal/atomicfile after its sha256 is
// checked, and a transfer that dies leaves nothing behind (or, with Resume, a partial file a
// later transfer goes on from).
//
// Small files ride in the stream's open request, so that a batch of them costs one round trip;
// larger ones stream under the tunnel's flow control, several files back to back with no wait
// between them, and errors come back per file. It is the wire format and both ends of it; it is
// not a command line (daemon/cli's cp is) and does no globbing.
package transfer

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mitogen-go/mitogend/proto"
)

// The byte stream is a sequence of records. A record is a frame (4-byte length, JSON Header),
// then, for a file with content, chunks (4-byte length 1..maxChunk, bytes) ended by a 4-byte
// zero and the 32-byte sha256 of the whole file, or by abandoned (the sender gave up on it: the
// receiver drops the file). Results travel the other way as frames of JSON Result.
const (
	maxFrame  = 64 << 10
	maxChunk  = 1 << 20
	chunkSize = 256 << 10
	abandoned = 0xffffffff
	// InlineMax is the largest file that rides in the open request; inlineBudget bounds the
	// request's records (the frame limit is 1 MiB).
	InlineMax    = 128 << 10
	inlineBudget = 768 << 10
)

// Header describes one file or directory.
type Header struct {
	// Name is the path below the destination, "/"-separated; its first element is the
	// source's own name, which a destination that is not a directory replaces.
	Name  string `json:"name"`
	Dir   bool   `json:"dir,omitempty"`
	Mode  uint32 `json:"mode"` // permission bits (and set-id bits)
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime,omitempty"` // Unix nanoseconds
	Atime int64  `json:"atime,omitempty"`
	// From says the content starts at this offset: the receiver's partial file holds the
	// bytes before it.
	From int64 `json:"from,omitempty"`
	// SHA256 (hex) is the content's hash, in a probe.
	SHA256 string `json:"sha256,omitempty"`
	// Error says the sender could not read the source: no content follows.
	Error string `json:"error,omitempty"`
}

// Result is the receiver's word on one record, or the last word (Done).
type Result struct {
	Index int    `json:"index"` // the record's position, from 0
	Name  string `json:"name,omitempty"`
	Error string `json:"error,omitempty"`
	// Probe answers: the destination holds the same content; a partial file holds this much.
	Same    bool               `json:"same,omitempty"`
	Partial *proto.ResumePoint `json:"partial,omitempty"`
	// Done: every record was handled and every rename made durable.
	Done bool `json:"done,omitempty"`
}

func writeFrame(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

var errBadFrame = errors.New("transfer: malformed record")

// readFrame reads one frame into v; io.EOF only between frames.
func readFrame(r *bufio.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errBadFrame
		}
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return fmt.Errorf("%w: frame of %d bytes", errBadFrame, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return errBadFrame
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", errBadFrame, err)
	}
	return nil
}

// validName checks a record's name: relative, no empty, "." or ".." elements, so that a
// hostile sender cannot write outside the destination.
func validName(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) {
		return false
	}
	for _, e := range strings.Split(name, "/") {
		if e == "" || e == "." || e == ".." {
			return false
		}
	}
	return true
}
