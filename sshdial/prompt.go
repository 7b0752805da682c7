package sshdial

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Question is one thing ssh would ask its user while authenticating.
type Question struct {
	// Messages are log messages ssh prints on stderr before it asks, in order: what Warnf
	// would have had since the last question ("Warning: Permanently added ..."),
	// "Permission denied, please try again." between password tries, a keyboard-interactive
	// request's name and instruction, what the last failed prompt printed. Text from the
	// server is as it came: escape it when printing.
	Messages []string
	// Prompt is printed as it is, e.g. "alice@10.0.0.1's password: " or
	// "(alice@10.0.0.1) Password: " (the server's part escaped already).
	Prompt string
	// Echo shows what is typed.
	Echo bool
}

// PromptFunc asks the caller's user a Question the way ssh's read_passphrase does, and
// returns the answer without its newline.
//
// An *Unanswered error is read_passphrase coming back empty-handed (no terminal, the askpass
// program failed): ssh goes on with an empty answer, and so does Dial. Any other error ends
// authentication (the user is gone), as Permission denied.
type PromptFunc func(ctx context.Context, q Question) (string, error)

// Unanswered is a prompt that got no answer. Message is what ssh printed about it
// ("ssh_askpass: exec(/usr/bin/ssh-askpass): No such file or directory"), "" for nothing.
type Unanswered struct{ Message string }

func (u *Unanswered) Error() string {
	if u.Message == "" {
		return "sshdial: prompt unanswered"
	}
	return "sshdial: prompt unanswered: " + u.Message
}

// held keeps back, while Dial may still prompt, what ssh would print on stderr, so that it
// goes out with the next Question and shows before the prompt as in ssh. After Dial it
// passes everything straight on.
type held struct {
	out func(format string, args ...any) // the caller's Warnf (or Logf)

	mu      sync.Mutex
	holding bool
	msgs    []string
}

// holdWarnings puts c's Warnf behind a held when c may prompt; nil otherwise.
func (c *Config) holdWarnings() *held {
	if c.Prompt == nil {
		return nil
	}
	h := &held{out: c.logf, holding: true}
	if c.Warnf != nil {
		h.out = c.Warnf
	}
	c.Warnf = h.warnf
	return h
}

func (h *held) warnf(format string, args ...any) {
	h.mu.Lock()
	if h.holding {
		h.msgs = append(h.msgs, fmt.Sprintf(format, args...))
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	h.out(format, args...)
}

// take returns what is held, for a Question.
func (h *held) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	msgs := h.msgs
	h.msgs = nil
	return msgs
}

// release ends the holding as Dial returns err: what is still held goes to Warnf after a
// success, and before the failure's own lines in a failure, which is where ssh printed it.
func (h *held) release(err error) error {
	if h == nil {
		return err
	}
	h.mu.Lock()
	msgs := h.msgs
	h.msgs, h.holding = nil, false
	h.mu.Unlock()
	var e *Error
	if err == nil || len(msgs) == 0 || !errors.As(err, &e) {
		for _, m := range msgs {
			h.out("%s", m)
		}
		return err
	}
	lines := append(msgs, e.LogMessages()...)
	return &Error{Message: strings.Join(lines, "\n"), Lines: lines, Err: e.Err}
}
