package bench

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DelayProxy forwards TCP connections from a loopback listener to a fixed address, holding
// every chunk back for Delay in each direction. Order and throughput are kept: chunks are
// stamped when read and written out once their stamp is Delay old, so the pipe behaves like a
// long fat link with RTT 2*Delay, not like a slow one.
type DelayProxy struct {
	Addr  string // where clients connect: 127.0.0.1:PORT
	Delay time.Duration

	// Up and Down count the bytes forwarded toward the server and back.
	Up, Down atomic.Int64

	ln     net.Listener
	target string
	wg     sync.WaitGroup
}

// maxInFlight bounds the chunks held per direction: 4096 x 64 KiB is far above any SSH window
// at 25 ms, so the proxy never throttles what the endpoints would send.
const maxInFlight = 4096

// NewDelayProxy listens on 127.0.0.1 and forwards to target.
func NewDelayProxy(target string, delay time.Duration) (*DelayProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &DelayProxy{Addr: ln.Addr().String(), Delay: delay, ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Port is the listening port.
func (p *DelayProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Close stops accepting; connections in progress end when their peers close them.
func (p *DelayProxy) Close() error {
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *DelayProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *DelayProxy) handle(c net.Conn) {
	// The connection to the server is made at once: the client's SYN is what would be delayed,
	// so the first client bytes still arrive Delay late, as on a real link.
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); p.pipe(s, c, &p.Up) }()
	go func() { defer both.Done(); p.pipe(c, s, &p.Down) }()
	both.Wait()
	c.Close()
	s.Close()
}

type chunk struct {
	due time.Time
	b   []byte
}

// pipe copies src to dst, each chunk Delay late; the end of src is delayed likewise.
func (p *DelayProxy) pipe(dst, src net.Conn, count *atomic.Int64) {
	q := make(chan chunk, maxInFlight)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 64<<10)
			n, err := src.Read(b)
			if n > 0 {
				q <- chunk{time.Now().Add(p.Delay), b[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for ch := range q {
		time.Sleep(time.Until(ch.due))
		if _, err := dst.Write(ch.b); err != nil {
			// A dead peer ends both sides; the reader stops on the closed src.
			src.Close()
			dst.Close()
			for range q {
			}
			return
		}
		count.Add(int64(len(ch.b)))
	}
	// Half-close so that EOF travels like data.
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}
