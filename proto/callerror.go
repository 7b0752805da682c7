package proto

// LogLine is one message ssh prints on stderr, with the level it logs it at: "fatal" or
// "error" (log.h's names, lowercase). A caller shows it when its LogLevel reaches that level,
// so that -q, LogLevel=FATAL and LogLevel=ERROR print what ssh prints.
type LogLine struct {
	Level string `json:"level"`
	Text  string `json:"text"` // one message; it may hold a "\n" of its own
}

// CallError is a daemon call's failure as ssh would report it: what kind of failure, the
// status ssh exits with, and the messages it prints, each with its level.
type CallError struct {
	Kind   string    `json:"kind"`
	Status int       `json:"status"`
	Lines  []LogLine `json:"lines"`
}

// Kinds of CallError.
const (
	FailConfig   = "config"   // ssh_config or -o refused: readconf's error()s, then fatal()
	FailResolve  = "resolve"  // the host name did not resolve: error(), then exit 255
	FailConnect  = "connect"  // the TCP connection failed: error(), then exit 255
	FailHostKey  = "hostkey"  // the host key was refused: error()s, then fatal()
	FailAuth     = "auth"     // authentication failed: fatal()
	FailProtocol = "protocol" // the SSH session broke: sshpkt_fatal, all fatal()
	FailOther    = "other"    // anything else: error()s, the last one fatal()
)

// NewCallError gives lines the levels ssh logs them at for a failure of kind, and ssh's
// status 255.
func NewCallError(kind string, lines []string) *CallError {
	e := &CallError{Kind: kind, Status: 255}
	for i, l := range lines {
		level := "error"
		switch {
		case kind == FailProtocol:
			level = "fatal"
		case kind == FailResolve || kind == FailConnect:
		case i == len(lines)-1:
			level = "fatal"
		}
		e.Lines = append(e.Lines, LogLine{Level: level, Text: l})
	}
	return e
}

// Texts are the messages, whatever their level.
func (e *CallError) Texts() []string {
	var t []string
	for _, l := range e.Lines {
		t = append(t, l.Text)
	}
	return t
}
