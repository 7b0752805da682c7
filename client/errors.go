package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mitogen-go/mitogend/internal/vis"
)

// ExitError is a remote command's end: its exit status, or the signal that killed it.
type ExitError struct {
	Status     int
	Signal     string // ssh's name, without "SIG"; "" when the command exited
	CoreDumped bool
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return fmt.Sprintf("client: remote command killed by signal %s", e.Signal)
	}
	return fmt.Sprintf("client: remote command exited with status %d", e.Status)
}

// Error is fakessh's own failure, carrying the message OpenSSH would print in its place
// (and, like ssh, exit status 255).
type Error struct {
	Msg   string // printed as is, without a prefix
	Usage bool   // print the usage text after Msg
	Err   error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// ExitCode maps Run's result to the status ssh would exit with, and the text to print on
// stderr first ("" for none), with ssh's line endings: its log lines end in "\r\n", while the
// usage text (printed with fprintf) ends in "\n".
func ExitCode(err error) (int, string) {
	var ee *ExitError
	var ce *Error
	switch {
	case err == nil:
		return 0, ""
	case errors.As(err, &ee):
		if ee.Signal != "" {
			return 255, ""
		}
		return ee.Status, ""
	case errors.As(err, &ce):
		if ce.Usage {
			msg := usageText + "\n"
			if ce.Msg != "" {
				msg = ce.Msg + "\n" + msg
			}
			return 255, msg
		}
		return 255, logLines(ce.Msg)
	default:
		return 255, logLines(err.Error())
	}
}

// logLines ends every line of msg as ssh's log does, escaping what a terminal would act on
// (msg may carry text from a target) the way ssh escapes every log line.
func logLines(msg string) string {
	if msg == "" {
		return ""
	}
	return strings.ReplaceAll(strings.TrimRight(vis.Safe(msg), "\n"), "\n", "\r\n") + "\r\n"
}
