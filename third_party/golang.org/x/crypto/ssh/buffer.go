// Copyright 2012 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

package ssh

import (
	"io"
	"sync"
)

// buffer provides a linked list buffer for data exchange
// between producer and consumer. Theoretically the buffer is
// of unlimited capacity as it does no allocation of its own.
type buffer struct {
	// protects concurrent access to head, tail and closed
	*sync.Cond

	head *element // the buffer that will be read first
	tail *element // the buffer that will be read last

	closed bool

	// lent is the data readBuffers last handed out, given to releasePacketData at the next
	// Read or readBuffers (mitogend's patch, PATCHES.md).
	lent [][]byte
}

// An element represents a single link in a linked list.
type element struct {
	buf  []byte
	next *element
	// whole is buf as written, for releasePacketData once it is all read (mitogend's
	// patch, PATCHES.md); nil where buf is not the writer's to give away.
	whole []byte
}

// newBuffer returns an empty buffer that is not closed.
func newBuffer() *buffer {
	e := new(element)
	b := &buffer{
		Cond: newCond(),
		head: e,
		tail: e,
	}
	return b
}

// write makes buf available for Read to receive.
// buf must not be modified after the call to write.
func (b *buffer) write(buf []byte) {
	b.push(&element{buf: buf})
}

// writePacketData is write for data that arrived in a packet readPacket returned: the buffer
// gives it to releasePacketData once it has all been read (mitogend's patch, PATCHES.md).
func (b *buffer) writePacketData(data []byte) {
	b.push(&element{buf: data, whole: data})
}

func (b *buffer) push(e *element) {
	b.Cond.L.Lock()
	b.tail.next = e
	b.tail = e
	b.Cond.Signal()
	b.Cond.L.Unlock()
}

// eof closes the buffer. Reads from the buffer once all
// the data has been consumed will receive io.EOF.
func (b *buffer) eof() {
	b.Cond.L.Lock()
	b.closed = true
	b.Cond.Signal()
	b.Cond.L.Unlock()
}

// Read reads data from the internal buffer in buf.  Reads will block
// if no data is available, or until the buffer is closed.
func (b *buffer) Read(buf []byte) (n int, err error) {
	b.Cond.L.Lock()
	defer b.Cond.L.Unlock()
	b.releaseLent()

	for len(buf) > 0 {
		// if there is data in b.head, copy it
		if len(b.head.buf) > 0 {
			r := copy(buf, b.head.buf)
			buf, b.head.buf = buf[r:], b.head.buf[r:]
			n += r
			if len(b.head.buf) == 0 && b.head.whole != nil {
				releasePacketData(b.head.whole)
				b.head.whole = nil
			}
			continue
		}
		// if there is a next buffer, make it the head
		if len(b.head.buf) == 0 && b.head != b.tail {
			b.head = b.head.next
			continue
		}

		// if at least one byte has been copied, return
		if n > 0 {
			break
		}

		// if nothing was read, and there is nothing outstanding
		// check to see if the buffer is closed.
		if b.closed {
			err = io.EOF
			break
		}
		// out of buffers, wait for producer
		b.Cond.Wait()
	}
	return
}

// readBuffers is Read without the copy (mitogend's patch, PATCHES.md): it waits as Read does,
// then appends to bufs the data the buffer holds, up to max bytes, as it was written. The
// slices are the caller's until its next Read or readBuffers, which gives them back for
// reuse; n is their length in all.
func (b *buffer) readBuffers(bufs [][]byte, max int) (_ [][]byte, n int, err error) {
	b.Cond.L.Lock()
	defer b.Cond.L.Unlock()
	b.releaseLent()

	for n < max {
		if len(b.head.buf) > 0 {
			take := min(len(b.head.buf), max-n)
			bufs = append(bufs, b.head.buf[:take])
			b.head.buf = b.head.buf[take:]
			n += take
			if len(b.head.buf) == 0 && b.head.whole != nil {
				b.lent = append(b.lent, b.head.whole)
				b.head.whole = nil
			}
			continue
		}
		if b.head != b.tail {
			b.head = b.head.next
			continue
		}
		if n > 0 {
			break
		}
		if b.closed {
			return bufs, 0, io.EOF
		}
		b.Cond.Wait()
	}
	return bufs, n, nil
}

// releaseLent gives back what readBuffers last handed out. The caller holds b.Cond.L.
func (b *buffer) releaseLent() {
	for i, data := range b.lent {
		releasePacketData(data)
		b.lent[i] = nil
	}
	b.lent = b.lent[:0]
}
