package tunnel

import (
	"context"
	"errors"
	"testing"
)

// TestWaitHandlers: WaitHandlers returns at once with no handler running, waits while a stream
// handler runs, gives ctx's cause when ctx ends first, and returns once the handler has.
func TestWaitHandlers(t *testing.T) {
	p := newPair(t, pairOpts{})
	ctx := testCtx(t)
	if err := p.srv.WaitHandlers(ctx); err != nil {
		t.Fatalf("with no handler running: %v", err)
	}
	const svcHold = 900
	entered, release, returned := make(chan struct{}), make(chan struct{}), make(chan struct{})
	p.srv.Listen(svcHold, func(s *Stream, _ []byte) {
		defer close(returned)
		close(entered)
		<-release
		s.Close()
	})
	if _, err := p.cli.Open(ctx, 0, svcHold, nil); err != nil {
		t.Fatal(err)
	}
	<-entered
	cause := errors.New("gave up")
	short, cancel := context.WithCancelCause(ctx)
	cancel(cause)
	if err := p.srv.WaitHandlers(short); !errors.Is(err, cause) {
		t.Fatalf("with a handler running and ctx over: %v, want %v", err, cause)
	}
	waited := make(chan error, 1)
	go func() { waited <- p.srv.WaitHandlers(ctx) }()
	close(release)
	<-returned
	if err := <-waited; err != nil {
		t.Fatalf("after the handler returned: %v", err)
	}
}
