package client

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
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

// debugDepth is the number of -v flags the level amounts to (ConnectRequest.Verbose).
func (l logLevel) debugDepth() int { return max(0, int(l-levelDebug1)+1) }

// debugf prints a debug line when the call's LogLevel reaches level, as ssh's debug2 and debug3.
func (s *session) debugf(level logLevel, format string, args ...any) {
	if s.level >= level {
		fmt.Fprint(s.stdio.Stderr, logLines(level.String()+": "+fmt.Sprintf(format, args...)))
	}
}

// debugResolved says, at -vv and -vvv, what fakessh resolved for the call and what the sshd
// made of the environment (ssh says the same at debug1-3 in its own words).
func (s *session) debugResolved(opts *flagparse.Options, env sentEnv, cr proto.ConnectReply) {
	if o, hostName, ok := s.resolved(opts); ok {
		s.debugf(levelDebug2, "fakessh: %s resolves to user %s, hostname %s, port %s", opts.Host, o.Get("user"), hostName, o.Get("port"))
	}
	for _, v := range env {
		if cr.EnvChecked && !slices.Contains(cr.AcceptedEnv, v.name) {
			s.debugf(levelDebug3, "fakessh: env %s: refused by the server's AcceptEnv", v.name)
			continue
		}
		s.debugf(levelDebug3, "fakessh: env %s sent", v.name)
	}
	s.debugf(levelDebug3, "fakessh: context %d serves %s", cr.Context, s.host)
}

// shownLines are the messages of a typed failure that the call's LogLevel shows, as ssh would
// print them; never nil, so that an Error built from them prints nothing when none shows.
func shownLines(ce *proto.CallError, level logLevel) []string {
	shown := []string{}
	for _, l := range ce.Lines {
		if parseLogLevel(l.Level) <= level {
			shown = append(shown, l.Text)
		}
	}
	return shown
}
