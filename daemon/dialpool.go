package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/mitogen-go/mitogend/sshdial"
)

// DefaultMaxConnects is how many SSH connections the daemon sets up at once unless
// Config.MaxConnects says otherwise: enough that a fleet's first calls run side by side (each
// connect waits mostly on its target: round trips, the target's sshd and shell), few enough that
// a thousand at once cannot take every descriptor, the CPU for handshakes and the network at one
// go. Connections already up are never held back by it.
const DefaultMaxConnects = 64

// connectQueueTimeout bounds the wait for a connect slot. A connect's own deadline (ConnectTimeout,
// else connectTimeout) starts when it has one: waiting behind other targets is not connecting.
const connectQueueTimeout = 10 * time.Minute

// dialSlots bounds the connects in progress: a TCP (or ProxyCommand) connection, its SSH
// handshake and authentication, and for a destination its agent's bootstrap. Each hop of a chain
// takes a slot of its own, one after the other, never one inside another, so connects waiting for
// a hop never hold the slots the hop needs.
type dialSlots struct{ ch chan struct{} }

func newDialSlots(n int) *dialSlots {
	if n <= 0 {
		n = DefaultMaxConnects
	}
	return &dialSlots{ch: make(chan struct{}, n)}
}

// slot is one held place in the pool. release may be called more than once.
type slot struct {
	pool *dialSlots
	mu   sync.Mutex
	held bool
}

// take waits for a slot, or for ctx to end.
func (p *dialSlots) take(ctx context.Context) (*slot, error) {
	s := &slot{pool: p}
	if err := s.reacquire(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *slot) reacquire(ctx context.Context) error {
	select {
	case s.pool.ch <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	s.mu.Lock()
	s.held = true
	s.mu.Unlock()
	return nil
}

func (s *slot) release() {
	if s == nil {
		return
	}
	s.mu.Lock()
	held := s.held
	s.held = false
	s.mu.Unlock()
	if held {
		<-s.pool.ch
	}
}

// duringPrompts gives the slot back while prompt waits for a user's answer: a person typing a
// password must not hold up the connects of other targets.
func (s *slot) duringPrompts(prompt sshdial.PromptFunc) sshdial.PromptFunc {
	if prompt == nil {
		return nil
	}
	return func(ctx context.Context, q sshdial.Question) (string, error) {
		s.release()
		answer, err := prompt(ctx, q)
		if rerr := s.reacquire(ctx); rerr != nil && err == nil {
			err = rerr
		}
		return answer, err
	}
}

// dialDeadline is how long one connect may take once it has its slot: ConnectTimeout covers the
// dial and then the bootstrap gets 30 s; a caller who may be asked for a password gets the time
// to answer on top.
func dialDeadline(connectTimeoutOpt time.Duration, prompt bool) time.Duration {
	timeout := connectTimeout
	if connectTimeoutOpt > 0 {
		timeout = connectTimeoutOpt + 30*time.Second
	}
	if prompt {
		timeout += promptGrace
	}
	return timeout
}
