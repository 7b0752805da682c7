// Package proto names the services that contexts offer each other over package tunnel, and the
// JSON bodies they exchange. It is shared by fakessh, the daemon and the agent, so it stays tiny
// and imports nothing heavier than encoding/json's callers need.
//
// It is not a transport and holds no logic beyond encoding helpers.
package proto

import "github.com/mitogen-go/mitogend/router"

// Service handles at the daemon (context 0). Only trusted contexts (local clients) may call them.
const (
	DaemonConnect uint32 = 1 // ConnectRequest -> ConnectReply
	DaemonStatus  uint32 = 2 // nothing, a StatusRequest, or a ConnectRequest for one destination -> Status
	DaemonStop    uint32 = 3 // nothing -> nothing; the daemon exits
)

// Service handles at an agent.
const (
	AgentExec   uint32 = 16 // stream; open payload ExecRequest
	AgentStatus uint32 = 17 // nothing -> AgentStatus
)

// Root is the daemon's context id.
const Root router.ID = 0

// ConnectRequest asks the daemon for the context serving a destination, connecting on first use.
type ConnectRequest struct {
	Host       string              `json:"host"`
	Config     map[string][]string `json:"config"`                // command-line options, lowercase keywords
	ConfigFile string              `json:"config_file,omitempty"` // -F
	// Resolved, when set, is the destination's configuration as the caller resolved it from
	// Config and the files (sshconfig.Options): the daemon uses it for the destination instead
	// of reading the files again, so that a call is resolved once, in the caller's environment
	// (a Match exec runs there, once). Unset when the caller could not resolve (the daemon then
	// does, and reports why) or when Host names a chain. Hops in front of the destination are
	// resolved by the daemon, as each ssh that ProxyJump starts resolves its own.
	Resolved  map[string][]string `json:"resolved,omitempty"`
	Home      string              `json:"home"`
	LocalUser string              `json:"local_user"`
	AuthSock  string              `json:"auth_sock,omitempty"`
	// Prompt says the client serves ClientPrompt for this call (it has a terminal or an askpass
	// program, and BatchMode is off): only then may connecting ask its user anything.
	Prompt bool `json:"prompt,omitempty"`
	// StdinPrompt says the client answers its steps' password prompts itself, from its own
	// standard input, as the command line's `sudo -S -p PROMPT` would read them (Ansible's
	// become with a password): the steps may prompt whatever Prompt says. SSH's own questions
	// still follow Prompt.
	StdinPrompt bool `json:"stdin_prompt,omitempty"`
	// Steps, if any, are contexts to start (or reuse) below the destination's SSH context, one
	// through the other: the call runs in the last.
	Steps []Step `json:"steps,omitempty"`
	// Chains is the file of named chains (hosts defined by Via, Become, Container) the
	// daemon looks Host up in first; "" for none.
	Chains  string `json:"chains,omitempty"`
	Verbose int    `json:"verbose,omitempty"`
	// LogLevel is the caller's resolved LogLevel (-q, -v and LogLevel as ssh applies them),
	// lowercase: "quiet", "fatal", "error", "info", "verbose", "debug1".."debug3". "" is
	// "info". Below INFO the daemon keeps what ssh logs with logit out of Warnings.
	LogLevel string `json:"log_level,omitempty"`
	// Caller is the context that made the call: the daemon sets it on receipt (it never comes
	// from the wire), so that connecting can ask that caller's user.
	Caller router.ID `json:"-"`
	// Shell and Path are the caller's $SHELL and $PATH: ssh runs a ProxyCommand with
	// "$SHELL -c 'exec COMMAND'" (/bin/sh when SHELL is unset), looked up on its PATH.
	Shell string `json:"shell,omitempty"`
	// Early says the call is a plain command on passed descriptors (DaemonExecFDs): the daemon
	// may answer once the SSH connection is up, before the agent is (ConnectReply.Early).
	Early bool   `json:"early,omitempty"`
	Path  string `json:"path,omitempty"`
	// EnvNames are the variables the call would send as ssh's "env" requests (SendEnv matches,
	// SetEnv names); the daemon answers which the destination's sshd accepts (AcceptEnv).
	EnvNames []string `json:"env_names,omitempty"`
}

// ConnectReply names the context to open streams on.
type ConnectReply struct {
	Context router.ID `json:"context"`
	// Early says the context's agent is not up yet: only DaemonExecFDs may be used on it until
	// a second DaemonConnect, without Early, returns.
	Early    bool     `json:"early,omitempty"`
	Reused   bool     `json:"reused"`
	Host     string   `json:"host"`               // how ssh names the host in its messages (the resolved HostName)
	Warnings []string `json:"warnings,omitempty"` // for the caller's stderr, as ssh prints them: one log message each
	// Failure, when set, says the daemon could not give a context: the log messages ssh would
	// have printed (one each; a message may hold a newline of its own) before exiting 255.
	Failure []string `json:"failure,omitempty"`
	// Error, set with Failure by a daemon that knows it, is the failure typed: its kind and
	// each message's level, so that the caller prints what its LogLevel lets ssh print.
	Error *CallError `json:"error,omitempty"`
	// Refused, when set, says a step's sudo, su or doas refused (a wrong password, sudoers):
	// the call ends as that command's failure would under ssh, with its own words on stderr and
	// its exit status.
	Refused *Refusal `json:"refused,omitempty"`
	Debug   []string `json:"debug,omitempty"` // with ConnectRequest.Verbose: what the daemon did
	// ForwardingDisabled: set up no -L, -R or -D forwards (-W still runs), as ssh does after
	// StrictHostKeyChecking=no let a changed host key through. The daemon's warnings say why.
	ForwardingDisabled bool `json:"forwarding_disabled,omitempty"`
	// Stderr is what a ProxyCommand wrote on its stderr while this call's connection was made,
	// for the caller's stderr as it is, before Warnings or Failure: ssh lets the command write
	// on its own stderr.
	Stderr string `json:"stderr,omitempty"`
	// AcceptedEnv are those of ConnectRequest.EnvNames the destination's sshd accepts, as it
	// answered "env" requests; EnvChecked says it was asked (an older daemon never asks).
	AcceptedEnv []string `json:"accepted_env,omitempty"`
	EnvChecked  bool     `json:"env_checked,omitempty"`
}

// ExecRequest is the payload of an AgentExec open: what sshd's exec, shell or subsystem
// request would carry.
type ExecRequest struct {
	Command   string            `json:"command,omitempty"`
	Subsystem string            `json:"subsystem,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	PTY       *PTYRequest       `json:"pty,omitempty"`
	// Argv, if set, is run directly instead of Command, without a shell: the command line of
	// sudo or doas in a become context. NotFound is what to print when its program is not found.
	Argv     []string `json:"argv,omitempty"`
	NotFound string   `json:"not_found,omitempty"`
	// KeepDir runs the command in the directory the context started in, with no rc file, as
	// sudo, su and container runtimes leave it, instead of in the home directory as sshd does.
	KeepDir bool `json:"keep_dir,omitempty"`
	// SetHome, with Argv, is sudo's -H: HOME is the context user's home directory from the
	// password database, so that one context started without -H serves both forms.
	SetHome bool `json:"set_home,omitempty"`
	// SCP, if set, is Command parsed as scp -t or scp -f (proto/transfer.go).
	SCP *SCPRequest `json:"scp,omitempty"`
	// ForwardAgent asks for the opener's ssh-agent on a private socket for this command alone
	// (proto/authagent.go).
	ForwardAgent bool `json:"forward_agent,omitempty"`
	// AuthAgentRef, set by the daemon, is echoed in each ClientAuthAgent open (AuthAgentConn).
	AuthAgentRef uint32 `json:"auth_agent_ref,omitempty"`
	// Lanes, if set, carries stdin and stdout (proto/lanes.go).
	Lanes *Lanes `json:"lanes,omitempty"`
}

// Stream request names, as in SSH.
const (
	ReqExitStatus = "exit-status" // payload: 4-byte big-endian status
	ReqExitSignal = "exit-signal" // payload: JSON ExitSignal
	ReqSignal     = "signal"      // payload: signal name without SIG
)

// ExitSignal reports death by a signal.
type ExitSignal struct {
	Signal     string `json:"signal"`
	CoreDumped bool   `json:"core_dumped,omitempty"`
	Message    string `json:"message,omitempty"`
}

// Status is the daemon's answer to DaemonStatus. Asked about one destination (a ConnectRequest,
// resolved as DaemonCheck resolves it), Destination names it as resolved, Connections holds its
// connection if that is up, and Links is empty. SortStatus orders it.
type Status struct {
	PID         int            `json:"pid"`
	Version     string         `json:"version"` // the daemon's build (internal/version)
	Socket      string         `json:"socket"`
	Uptime      string         `json:"uptime"`
	Destination string         `json:"destination,omitempty"`
	Summary     *StatusSummary `json:"summary,omitempty"` // unless asked about one destination
	Connections []Connection   `json:"connections"`
	Links       []LinkStatus   `json:"links"`
}

// Connection is one SSH connection and the context on it.
type Connection struct {
	Destination string    `json:"destination"`
	Context     router.ID `json:"context"`
	Agent       AgentInfo `json:"agent"`
	Streams     int       `json:"streams"`
	NoAnswer    bool      `json:"no_answer,omitempty"` // its agent did not answer status in time: Streams unknown
	BytesIn     uint64    `json:"bytes_in"`
	BytesOut    uint64    `json:"bytes_out"`
	Since       string    `json:"since"`
	// Contexts are those started through this connection's agent and through each other.
	Contexts []ContextStatus `json:"contexts,omitempty"`
}

// ContextStatus is a context started through another (a become or container context).
type ContextStatus struct {
	Context router.ID `json:"context"`
	Parent  router.ID `json:"parent"`
	Name    string    `json:"name"` // "sudo -u postgres"
	Agent   AgentInfo `json:"agent"`
	Idle    string    `json:"idle"` // since a call last asked for it
	// Streams are those its agent serves, as it answered status; NoAnswer says it did not in
	// time (Streams unknown).
	Streams  int  `json:"streams"`
	NoAnswer bool `json:"no_answer,omitempty"`
}

// Step is one context below another: a become method (sudo, su, doas) or a command that runs
// the agent somewhere else (a container runtime: docker exec -i NAME).
type Step struct {
	Method  string `json:"method"`            // "sudo", "su", "doas", "exec"
	Program string `json:"program,omitempty"` // become: the tool as the caller named it ("/usr/bin/sudo"); default Method
	// User is the become target. "" is root, except for sudo: there it is sudoers' runas_default
	// (no -u is given).
	User  string `json:"user,omitempty"`
	Group string `json:"group,omitempty"` // sudo -g
	// Flags are the method's options that shape the context (its environment or directory), in
	// its own spelling: sudo -H, -E, --preserve-env=LIST; su -l, -m, -s SHELL, -w LIST.
	Flags []string `json:"flags,omitempty"`
	// Argv is, for "exec", the command that runs the agent's bootstrap shell command in the
	// other place: ["docker", "exec", "-i", "app"] (the shell command line goes last).
	Argv []string `json:"argv,omitempty"`
	// NonInteractive is sudo's and doas's -n: never prompt. It does not change the context: a
	// context already started serves such a call too.
	NonInteractive bool `json:"non_interactive,omitempty"`
	// Fallback says the step was found in the caller's command line, which the caller can run
	// as ssh would instead: the context is first started without prompting, and when the
	// method's policy allows the caller's Command without a password but not the context (a
	// per-command sudoers rule), or asks for a password the caller cannot give, the reply
	// says Refused.Policy and the caller runs its command as ssh would.
	Fallback bool     `json:"fallback,omitempty"`
	Command  []string `json:"command,omitempty"` // with Fallback: what the caller wants run
	// Prompt, for sudo, is the caller's own -p prompt, given to the sudo that starts the
	// context, so that its prompts read as the caller's command line would have them. It is not
	// part of what the context is: a later call with another prompt shares it.
	Prompt string `json:"prompt,omitempty"`
}

// Refusal is a become method's own failure.
type Refusal struct {
	Stderr string `json:"stderr"`
	Status int    `json:"status"`
	// Policy: sudoers or doas.conf refused the context's bootstrap command, which says nothing
	// of the command the caller wants run (a rule may allow just that one): a caller that
	// detected the step in its command line runs the command as ssh would instead.
	Policy bool `json:"policy,omitempty"`
}

// LinkStatus is one router link's counters.
type LinkStatus struct {
	Name     string      `json:"name"`
	Trusted  bool        `json:"trusted"`
	Contexts []router.ID `json:"contexts"`
	BytesIn  uint64      `json:"bytes_in"`
	BytesOut uint64      `json:"bytes_out"`
}

// AgentInfo is what an agent says about itself in its Hello and status.
type AgentInfo struct {
	PID     int    `json:"pid"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Exe     string `json:"exe"` // "memfd" or "deleted-file"
	Streams int    `json:"streams"`
}
