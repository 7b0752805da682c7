package sshconfig

import "fmt"

// ConfigError reports a configuration ssh would refuse. Messages holds the
// lines ssh prints to stderr before exiting with status 255, e.g.
//
//	/home/u/.ssh/config: line 3: Bad configuration option: bogus
//	/home/u/.ssh/config: terminating, 1 bad configuration options
type ConfigError struct {
	File     string // "command-line" for options given as -o
	Line     int
	Messages []string
	Err      error // underlying I/O error, if any
}

func (e *ConfigError) Error() string {
	if len(e.Messages) == 0 {
		return "sshconfig: " + e.File + ": bad configuration"
	}
	return "sshconfig: " + e.Messages[0]
}

func (e *ConfigError) Unwrap() error { return e.Err }

// lineMsg formats the "FILE line N: ..." prefix readconf.c uses for value
// errors (note: no colon after the file name, unlike for bad keywords).
func lineMsg(file string, line int, format string, args ...any) string {
	return fmt.Sprintf("%s line %d: ", file, line) + fmt.Sprintf(format, args...)
}
