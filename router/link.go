package router

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// ErrQueueOverflow ends a link whose peer stopped reading while others kept sending to it
// beyond every window: a protocol error somewhere upstream.
var ErrQueueOverflow = errors.New("router: link queue overflow")

// ErrLinkClosed is returned for frames queued on a link that is gone.
var ErrLinkClosed = errors.New("router: link closed")

// LinkConfig describes a neighbour.
type LinkConfig struct {
	Name    string
	Parent  bool // the link toward the root: the default route
	Trusted bool // the controller side: frames from it may go anywhere
	Peer    ID   // the context at the other end; contexts behind it are added with AddRoute
	// MaxQueue bounds the FrameCost of the frames queued on this link; 0 takes Config.MaxQueue.
	MaxQueue int
	// Reason, if set, words why the contexts behind the link are gone, for the people whose
	// streams end with it ("Connection to 10.0.0.1 closed by remote host."); it travels in the
	// Disconnect notices. err is why the link went down.
	Reason func(err error) string
}

// Link is one neighbour. All methods are safe for concurrent use.
type Link struct {
	r   *Router
	cfg LinkConfig
	rwc io.ReadWriteCloser

	mu      sync.Mutex // protects queue, queued, err, writing; taken after Router.mu, never before
	queue   []*Message
	queued  int   // FrameCost of the frames in queue, also counted in Router.queued
	err     error // set once when the link goes down
	writing bool  // a drain goroutine is writing the queue out
	done    chan struct{}
	once    sync.Once

	bytesIn, bytesOut   atomic.Uint64
	framesIn, framesOut atomic.Uint64

	// Guarded by Router.mu (index.go):
	routed  map[ID]struct{} // contexts routed through this link
	crossed map[ID]struct{} // contexts whose Router.crossed set holds this link
}

// LinkStats is a snapshot of a link's counters.
type LinkStats struct {
	Name                string
	Trusted             bool
	Routes              []ID
	BytesIn, BytesOut   uint64
	FramesIn, FramesOut uint64
	Queued              int // FrameCost of the frames waiting to be written
}

// Name is the link's name as configured.
func (l *Link) Name() string { return l.cfg.Name }

// Trusted reports whether the link leads to the controller side.
func (l *Link) Trusted() bool { return l.cfg.Trusted }

// Done is closed when the link is down.
func (l *Link) Done() <-chan struct{} { return l.done }

// Err is why the link went down, or nil while it is up.
func (l *Link) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close takes the link down.
func (l *Link) Close() { l.fail(ErrLinkClosed) }

// Peer is the context at the other end of the link.
func (l *Link) Peer() ID { return l.cfg.Peer }

// CloseWith takes the link down; err, if not nil, is why (Err and LinkConfig.Reason see it).
func (l *Link) CloseWith(err error) {
	if err == nil {
		err = ErrLinkClosed
	}
	l.fail(err)
}

// FrameCost is what one queued frame is charged against the queue bounds: its header, its
// payload and the memory that holds them, so that a flood of empty frames counts too.
func FrameCost(m *Message) int { return HeaderSize + len(m.Payload) + frameOverhead }

// frameOverhead is about what a queued *Message costs beyond its bytes (the struct, its
// allocation class, its queue slot).
const frameOverhead = 64

// enqueue hands m to the writer goroutine; it never blocks. A frame that would take the queue
// past its bound is not queued: the link is taken down, unless blame (the link the frame came
// from) is to answer for it instead.
func (l *Link) enqueue(m *Message, blame *Link) error {
	cost := FrameCost(m)
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrLinkClosed, l.cfg.Name)
	}
	if l.queued+cost > l.cfg.MaxQueue {
		queued := l.queued
		l.mu.Unlock()
		if blame == nil {
			blame = l
		}
		err := fmt.Errorf("%w: %d bytes queued for %s, bound %d", ErrQueueOverflow, queued, l.cfg.Name, l.cfg.MaxQueue)
		blame.fail(err)
		return err
	}
	l.queue = append(l.queue, m)
	l.queued += cost
	start := !l.writing
	l.writing = true
	if start {
		l.r.wg.Add(1) // under l.mu with l.err nil: Router.Close has not finished failing l
	}
	l.mu.Unlock()
	total := l.r.queued.Add(int64(cost))
	if total > int64(l.r.cfg.MaxQueueTotal) {
		l.r.shed(total)
	}
	if start {
		go func() {
			defer l.r.wg.Done()
			l.drain()
		}()
	}
	return nil
}

// takeQueue empties the queue for the writer; nil (an empty queue) ends the writer.
func (l *Link) takeQueue() []*Message {
	l.mu.Lock()
	batch, cost := l.queue, l.queued
	l.queue, l.queued = nil, 0
	if len(batch) == 0 {
		l.writing = false
	}
	l.mu.Unlock()
	l.r.queued.Add(-int64(cost))
	return batch
}

func (l *Link) queuedCost() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queued
}

// fail takes the link down once: the stream is closed, which also stops the reader,
// and the router forgets the contexts behind it.
func (l *Link) fail(err error) {
	l.once.Do(func() {
		l.mu.Lock()
		l.err = err
		l.queue = nil
		l.r.queued.Add(-int64(l.queued))
		l.queued = 0
		l.mu.Unlock()
		l.rwc.Close()
		close(l.done)
		l.r.linkDown(l, err)
	})
}

func (l *Link) readLoop() {
	// Small: large payloads bypass the buffer, and a short-lived client link (one fakessh call)
	// should not fault in pages it never uses.
	br := bufio.NewReaderSize(l.rwc, 16<<10)
	for {
		m, err := ReadMessage(br, l.r.cfg.MaxPayload)
		if err != nil {
			if err == io.EOF {
				err = fmt.Errorf("router: link %s: closed by peer", l.cfg.Name)
			} else {
				err = fmt.Errorf("router: link %s: %w", l.cfg.Name, err)
			}
			l.fail(err)
			return
		}
		l.bytesIn.Add(uint64(HeaderSize + len(m.Payload)))
		l.framesIn.Add(1)
		l.r.fromLink(m, l)
	}
}

// writeBatch is how much a writer gathers before it writes: many small frames cost one write.
const writeBatch = 256 << 10

// writeBufs are the writers' buffers. A link has a writer only while it has something to send,
// and the buffer goes back here when it is done, so that an idle link (most of a fleet's) holds
// neither a goroutine nor a buffer grown by the traffic it once carried.
var writeBufs = sync.Pool{New: func() any { return new([]byte) }}

// drain is the link's only writer while it runs (Link.writing): it writes the queue out in
// batches until it finds it empty.
func (l *Link) drain() {
	bp := writeBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() {
		if cap(buf) <= 2*writeBatch {
			*bp = buf[:0]
			writeBufs.Put(bp)
		}
	}()
	for {
		batch := l.takeQueue()
		if len(batch) == 0 {
			return
		}
		for _, m := range batch {
			var hdr [HeaderSize]byte
			m.Header.encode(hdr[:], len(m.Payload))
			buf = append(buf, hdr[:]...)
			buf = append(buf, m.Payload...)
			l.framesOut.Add(1)
			if len(buf) >= writeBatch {
				if !l.write(buf) {
					return
				}
				buf = buf[:0]
			}
		}
		if len(buf) > 0 {
			if !l.write(buf) {
				return
			}
			buf = buf[:0]
		}
	}
}

func (l *Link) write(b []byte) bool {
	if _, err := l.rwc.Write(b); err != nil {
		l.fail(fmt.Errorf("router: link %s: write: %w", l.cfg.Name, err))
		return false
	}
	l.bytesOut.Add(uint64(len(b)))
	return true
}

// Stats is a snapshot of the link's counters; Routes is left empty (Router.Links fills it in).
func (l *Link) Stats() LinkStats { return l.stats() }

func (l *Link) stats() LinkStats {
	return LinkStats{
		Name: l.cfg.Name, Trusted: l.cfg.Trusted,
		BytesIn: l.bytesIn.Load(), BytesOut: l.bytesOut.Load(),
		FramesIn: l.framesIn.Load(), FramesOut: l.framesOut.Load(),
		Queued: l.queuedCost(),
	}
}
