package client

import (
	"strings"

	"github.com/mitogen-go/mitogend/flagparse"
)

// logLevel is ssh's LogLevel (log.h's LogLevel), ordered: a message shows when the level is at
// least the message's own.
type logLevel int

const (
	levelQuiet logLevel = iota
	levelFatal
	levelError
	levelInfo
	levelVerbose
	levelDebug1
	levelDebug2
	levelDebug3
)

var logLevelNames = []string{"quiet", "fatal", "error", "info", "verbose", "debug1", "debug2", "debug3"}

// parseLogLevel reads a LogLevel value as log_level_number does ("debug" is DEBUG1); an unset or
// unknown one is INFO, ssh's default.
func parseLogLevel(v string) logLevel {
	v = strings.ToLower(v)
	if v == "debug" {
		return levelDebug1
	}
	for i, n := range logLevelNames {
		if n == v {
			return logLevel(i)
		}
	}
	return levelInfo
}

func (l logLevel) String() string { return logLevelNames[l] }

// logLevel is LogLevel as ssh applies it for this call: flagparse puts -q and -v into the
// command line's loglevel, which wins over the files'.
func (s *session) logLevel(opts *flagparse.Options) logLevel {
	v, _ := opts.Config.Get("loglevel")
	if o, _, ok := s.resolved(opts); ok {
		v = o.Get("loglevel")
	}
	return parseLogLevel(v)
}
