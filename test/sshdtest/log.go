package sshdtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// loginLine is what sshd logs once per successful public key login.
const loginLine = "Accepted publickey for "

// defaultWaitTimeout bounds WaitLog and WaitLogins when ctx has no deadline,
// so a missing log line fails the test instead of hanging it.
const defaultWaitTimeout = 10 * time.Second

// pollInterval is how often the log file is re-read while waiting.
const pollInterval = 5 * time.Millisecond

// ErrExited is returned (wrapped) by the wait methods when sshd exits before
// the awaited log line appears.
var ErrExited = errors.New("sshdtest: sshd exited")

// Log returns sshd's log so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.LogFile)
	if err != nil {
		s.tb.Errorf("sshdtest: reading sshd log: %v", err)
	}
	return string(b)
}

// Logins is the number of public key logins sshd has accepted so far: one
// per SSH connection, whatever number of sessions it carries.
func (s *Server) Logins() int {
	return strings.Count(s.Log(), loginLine)
}

// WaitLog waits until sshd's log contains substr, the context is done, or
// sshd exits. Without a deadline on ctx it gives up after 10 seconds.
func (s *Server) WaitLog(ctx context.Context, substr string) error {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	err := s.waitFor(ctx, func(log string) bool { return strings.Contains(log, substr) })
	if err != nil {
		return fmt.Errorf("sshdtest: waiting for %q in sshd log: %w", substr, err)
	}
	return nil
}

// WaitLogins waits until at least n logins have been accepted; see WaitLog.
func (s *Server) WaitLogins(ctx context.Context, n int) error {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	err := s.waitFor(ctx, func(log string) bool { return strings.Count(log, loginLine) >= n })
	if err != nil {
		return fmt.Errorf("sshdtest: waiting for %d logins: %w", n, err)
	}
	return nil
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, defaultWaitTimeout)
}

// waitFor polls the log until done reports true. sshd writes its log with
// plain appends and offers no notification, so polling is the only way.
func (s *Server) waitFor(ctx context.Context, done func(log string) bool) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		log, err := os.ReadFile(s.LogFile)
		if err != nil {
			return err
		}
		if done(string(log)) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.proc.exited:
			// Read once more: the line may have been written just
			// before the exit.
			if log, err := os.ReadFile(s.LogFile); err == nil && done(string(log)) {
				return nil
			}
			return ErrExited
		case <-tick.C:
		}
	}
}
