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
	// Messages, when set instead of Msg, are ssh log messages printed one by one (a message may
	// hold a newline of its own, which stays as it is).
	Messages []string
	Plain    bool // Msg is printed with fprintf ("\n"), not as a log line ("\r\n")
	Err      error
}

func (e *Error) Error() string {
	if e.Messages != nil {
		return strings.Join(e.Messages, "\n")
	}
	return e.Msg
}

// errConnect is the cause of an Error carrying the daemon's failure to connect.
var errConnect = errors.New("client: the daemon could not connect")

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
			switch {
			case ce.Msg != "" && ce.Plain:
				msg = ce.Msg + "\n" + msg
			case ce.Msg != "":
				msg = logLines(ce.Msg) + msg // getopt's complaint is ssh's error(): "\r\n"
			}
			return 255, msg
		}
		if ce.Messages != nil {
			var b strings.Builder
			for _, m := range ce.Messages {
				b.WriteString(logMessage(m))
			}
			return 255, b.String()
		}
		if ce.Plain {
			return 255, ce.Msg + "\n"
		}
		return 255, logLines(ce.Msg)
	default:
		return 255, logLines(err.Error())
	}
}

// logMessage is one ssh log message as ssh writes it on stderr: escaped (a newline inside stays
// a newline) and ended with "\r\n".
func logMessage(msg string) string { return vis.Log(msg) + "\r\n" }

// logLines ends every line of msg as ssh's log does, escaping what a terminal would act on
// (msg may carry text from a target) the way ssh escapes every log line.
func logLines(msg string) string {
	if msg == "" {
		return ""
	}
	return strings.ReplaceAll(strings.TrimRight(vis.Log(msg), "\n"), "\n", "\r\n") + "\r\n"
}
