package flagparse

import "strings"

// Config holds the -o options and the options that flags set, keyed by
// lowercase OpenSSH keyword. Values are normalised where ssh_config accepts
// synonyms (true -> yes, false -> no, DEBUG -> debug1). Single-valued
// keywords hold their arguments in order (usually one); multi-valued
// keywords (identityfile, certificatefile, localforward, remoteforward,
// dynamicforward, sendenv) hold one entry per value.
type Config map[string][]string

// Get returns the first value of key, which is matched case-insensitively.
func (c Config) Get(key string) (string, bool) {
	v := c[strings.ToLower(key)]
	if len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// All returns every value of key, which is matched case-insensitively.
func (c Config) All(key string) []string {
	return c[strings.ToLower(key)]
}

// has reports whether key (already lowercase) has been set.
func (c Config) has(key string) bool {
	_, ok := c[key]
	return ok
}

// setFirst sets key unless it is set already: process_config_line's rule.
func (c Config) setFirst(key string, vals ...string) {
	if !c.has(key) {
		c[key] = vals
	}
}

// set overwrites key: ssh.c assigns some flags directly.
func (c Config) set(key string, vals ...string) {
	c[key] = vals
}

func (c Config) add(key, val string) {
	c[key] = append(c[key], val)
}

// TTYMode is the pseudo-terminal request made on the command line.
type TTYMode int

const (
	TTYUnset TTYMode = iota // neither -t, -T nor RequestTTY (or RequestTTY auto)
	TTYNo                   // -T or RequestTTY no
	TTYYes                  // -t or RequestTTY yes
	TTYForce                // -tt or RequestTTY force
)

// Options is the parsed command line.
//
// The boolean session fields and TTY describe the effective command-line
// state, whether a flag or an -o option set it: -s and "-o
// SessionType=subsystem" both set Subsystem, "-o RequestTTY=yes -t" is
// TTYForce as in ssh.
type Options struct {
	// Host is the destination host, with the brackets of "[::1]" removed.
	// Empty only for -V, -Q, or a destination with an empty host ("u@").
	Host string
	// Command is the remaining arguments joined by single spaces.
	Command string

	Subsystem  bool // -s, SessionType subsystem
	NoStdin    bool // -n, -f, StdinNull yes
	NoCommand  bool // -N, -W, SessionType none
	Background bool // -f, ForkAfterAuthentication yes
	Quiet      bool // -q: LogLevel is quiet
	DumpConfig bool // -G
	Version    bool // -V: ssh prints its version and exits 0; parsing stops here
	Syslog     bool // -y

	TTY     TTYMode
	Verbose int // number of -v flags

	StdioForward   string // -W host:port
	ControlCommand string // -O
	Query          string // -Q: ssh prints the list and exits 0; parsing stops here
	ConfigFile     string // -F (last wins)
	LogFile        string // -E (last wins)

	Config Config

	// IdentityFlags are the -i arguments as given: ssh warns at once about those it cannot
	// stat, which is I/O and so the caller's to do.
	IdentityFlags []string

	// Warnings are messages ssh prints on stderr before carrying on, such
	// as for -o options it no longer supports.
	Warnings []string
}

// Error is what Parse returns. ssh prints Msg (if any) and then, when
// ShowUsage is set, Usage on stderr, and exits with status 255.
type Error struct {
	Msg       string
	ShowUsage bool
	// Plain: ssh prints Msg with fprintf (its line ends in "\n"), not through its log
	// ("\r\n").
	Plain bool
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return "flagparse: usage error"
	}
	return "flagparse: " + e.Msg
}

func usageErr(msg string) *Error { return &Error{Msg: msg, ShowUsage: true} }

func fatalErr(msg string) *Error { return &Error{Msg: msg} }

// plainErr is an error ssh.c prints with fprintf before exiting 255.
func plainErr(msg string) *Error { return &Error{Msg: msg, Plain: true} }

// Usage is OpenSSH 9.2's usage text, without a trailing newline.
const Usage = `usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface]
           [-b bind_address] [-c cipher_spec] [-D [bind_address:]port]
           [-E log_file] [-e escape_char] [-F configfile] [-I pkcs11]
           [-i identity_file] [-J [user@]host[:port]] [-L address]
           [-l login_name] [-m mac_spec] [-O ctl_cmd] [-o option] [-p port]
           [-Q query_option] [-R address] [-S ctl_path] [-W host:port]
           [-w local_tun[:remote_tun]] destination [command [argument ...]]`
