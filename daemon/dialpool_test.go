package daemon

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mitogen-go/mitogend/sshdial"
)

// TestDialSlotsBound: the pool hands out its size and no more; a connect waiting past its
// queue deadline gives up; a slot given back lets the next one in.
func TestDialSlotsBound(t *testing.T) {
	p := newDialSlots(2)
	a, err := p.take(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.take(context.Background()); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if s, err := p.take(short); err == nil {
		t.Fatalf("a third slot from a pool of 2: %+v", s)
	}
	a.release()
	a.release() // twice is once
	if _, err := p.take(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(p.ch) != 2 {
		t.Errorf("%d slots held, want 2", len(p.ch))
	}
}

// TestDialSlotFreedDuringPrompt: a connect asking its user for a password gives its slot to
// the others until the answer comes, then takes one again.
func TestDialSlotFreedDuringPrompt(t *testing.T) {
	p := newDialSlots(1)
	s, err := p.take(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	other := make(chan *slot)
	asked := make(chan struct{})
	prompt := s.duringPrompts(func(ctx context.Context, q sshdial.Question) (string, error) {
		close(asked)
		o, err := p.take(ctx) // another target's connect, while this one waits for a person
		if err != nil {
			return "", err
		}
		other <- o
		return "secret", nil
	})
	done := make(chan error, 1)
	go func() {
		answer, err := prompt(context.Background(), sshdial.Question{})
		if err == nil && answer != "secret" {
			err = errors.New("answer " + answer)
		}
		done <- err
	}()
	<-asked
	o := <-other
	o.release() // the other connect is done: the prompting one gets its slot back
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(p.ch) != 1 || !s.held {
		t.Errorf("after the prompt: %d slots held, held=%v; want the prompting connect's back", len(p.ch), s.held)
	}
}

// TestDialDeadline: ConnectTimeout plus the bootstrap's 30 s, the prompt's grace on top.
func TestDialDeadline(t *testing.T) {
	if d := dialDeadline(5*time.Second, false); d != 35*time.Second {
		t.Errorf("ConnectTimeout 5s: %v", d)
	}
	if d := dialDeadline(0, true); d != connectTimeout+promptGrace {
		t.Errorf("default with prompt: %v", d)
	}
}
