package sshdial

import (
	"errors"
	"strings"
)

// Error is a connection failure. Message is what ssh(1) would print on
// stderr (possibly several lines, without a trailing newline).
type Error struct {
	Message string
	// Lines, when set, are the log messages that make up Message, in order:
	// ssh ends each with "\r\n", and a message may hold a "\n" of its own
	// (the fingerprint in the changed-host-key banner).
	Lines []string
	Err   error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// LogMessages are the log messages ssh prints for the failure.
func (e *Error) LogMessages() []string {
	if e.Lines != nil {
		return e.Lines
	}
	return strings.Split(e.Message, "\n")
}

// Sentinels wrapped by Error, for callers that branch on the kind of failure.
var (
	ErrResolve          = errors.New("sshdial: could not resolve host name")
	ErrConnect          = errors.New("sshdial: could not connect")
	ErrTimeout          = errors.New("sshdial: connection timed out")
	ErrHostKeyUnknown   = errors.New("sshdial: host key unknown")
	ErrHostKeyChanged   = errors.New("sshdial: host key changed")
	ErrHostKeyRevoked   = errors.New("sshdial: host key revoked")
	ErrPermissionDenied = errors.New("sshdial: permission denied")
	ErrUnsupported      = errors.New("sshdial: unsupported option")
	ErrProtocol         = errors.New("sshdial: protocol error")
)

// wrap joins a sentinel with the underlying cause so both match errors.Is.
func wrap(sentinel, cause error) error {
	if cause == nil {
		return sentinel
	}
	return errors.Join(sentinel, cause)
}
