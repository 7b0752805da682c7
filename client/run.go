// Package client is fakessh: it parses an OpenSSH command line, asks the daemon for the context
// serving the destination (the daemon connects on first use), and runs the command there over a
// tunnel stream, carrying stdin, stdout, stderr and the exit status as ssh does. While its
// call lasts it answers the daemon's questions for the user (passwords, keyboard-interactive)
// as ssh's read_passphrase would, on /dev/tty or through SSH_ASKPASS (see prompter).
//
// It is deliberately light: it never links golang.org/x/crypto/ssh (the daemon owns every SSH
// connection), so a call costs a process start, a Unix-socket round trip and one round trip to
// the target.
package client

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strings"
	"sync"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/sshopt"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// Stdio is the process's standard streams and environment, passed in so that Run can be tested.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Environ        []string // KEY=VALUE, as os.Environ
}

func (s Stdio) getenv(key string) string {
	v, _ := s.lookupEnv(key)
	return v
}

// lookupEnv tells an unset variable from an empty one, as getenv's NULL does.
func (s Stdio) lookupEnv(key string) (string, bool) {
	for i := len(s.Environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(s.Environ[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Run runs one ssh command line. The error is an *ExitError for a remote command that did not
// exit 0, an *Error for fakessh's own failures (ssh's message, status 255).
func Run(ctx context.Context, args []string, stdio Stdio) error {
	opts, err := flagparse.Parse(args)
	if err != nil {
		var fe *flagparse.Error
		if errors.As(err, &fe) {
			return &Error{Msg: fe.Msg, Usage: fe.ShowUsage, Plain: fe.Plain, Err: err}
		}
		return &Error{Msg: err.Error(), Err: err}
	}
	if err := checkSupported(opts); err != nil {
		return err
	}
	steps, err := optionSteps(opts.Config) // fakessh's own: not for -G, -O or the daemon's ssh_config
	if err != nil {
		return err
	}
	// e.g. `Unsupported option "rsaauthentication"`: ssh prints it while parsing -o, before
	// any LogLevel (even -q) applies.
	for _, w := range opts.Warnings {
		fmt.Fprint(stdio.Stderr, logLines(w))
	}
	if opts.Version { // ssh -V prints and exits while parsing, before -i is looked at
		printVersion(opts, stdio)
		return nil
	}
	opts = identityFlags(opts, stdio)
	if cmdline, _ := opts.Config.Get("loglevel"); opts.Verbose > 0 && parseLogLevel(cmdline) >= levelInfo {
		fmt.Fprint(stdio.Stderr, logLines(versionLine())) // ssh.c's logit of its release under -v
	}
	switch {
	case opts.DumpConfig:
		return dumpConfig(opts, stdio)
	case opts.ControlCommand != "":
		return control(ctx, opts, stdio)
	}
	// ssh reads its configuration before it connects, and stops there on a bad one.
	config := resolveConfig(opts, stdio)
	if err := configFailure(opts, config); err != nil {
		return err
	}
	if config.dialErr != nil {
		return config.dialErr
	}
	var become *becomeCall
	if opts.Command != "" && !opts.Subsystem && opts.StdioForward == "" && !opts.NoCommand {
		if bc, ok := detectBecome(opts.Command); ok && !forwardAgentAsked(opts, config) {
			become = &bc
		}
	}
	s, err := newSession(ctx, opts, stdio, steps, become, config)
	if errors.Is(err, errBecomeDenied) {
		// sudoers or doas.conf refused the context, which says nothing of this command: run it
		// as ssh would, and let the tool judge it.
		s, err = newSession(ctx, opts, stdio, steps, nil, config)
	}
	if err != nil {
		return err
	}
	defer s.close()
	if s.early && (opts.Background || hasForwards(s.withResolvedForwards(opts))) {
		if err := s.waitAgent(ctx); err != nil {
			return err
		}
	}
	if err := s.startForwards(ctx, opts); err != nil {
		return err
	}
	switch {
	case opts.StdioForward != "":
		return s.stdioForward(ctx, opts)
	case opts.NoCommand:
		<-ctx.Done() // -N: hold the tunnel (and its forwards) until interrupted, as ssh -N does
		return nil
	}
	return s.exec(ctx, opts)
}

// session is fakessh's connection to the daemon and the destination's context.
type session struct {
	stdio  Stdio
	daemon *DaemonConn
	ep     *tunnel.Endpoint // daemon.Endpoint()
	target router.ID
	host   string          // how ssh names the target in its messages
	become *becomeCall     // the command runs in a become context; nil: as ssh runs it
	config *resolvedConfig // see resolved; nil until first asked for

	fwdDisabled bool // ConnectReply.ForwardingDisabled: no -L, -R, -D
	sessionChan int  // ssh's number for the session channel, after the forwards' listeners

	prompts *prompter         // answers the daemon's questions for this call
	env     map[string]string // what ssh's "env" requests would set, as the sshd accepts them
	level   logLevel          // LogLevel as resolved for this call
	passed  bool              // the daemon holds our stdin, stdout and stderr (passfds.go)
	early   bool              // ConnectReply.Early: the agent may not be up yet (see waitAgent)
	creq    proto.ConnectRequest
}

// newSession connects to the daemon and asks for the destination's context, below it the steps,
// and below those become's, when the command is one.
// config is the call's resolved configuration, nil to resolve it here.
func newSession(ctx context.Context, opts *flagparse.Options, stdio Stdio, steps []proto.Step, become *becomeCall, config *resolvedConfig) (*session, error) {
	home, localUser := localAccount(stdio)
	files := passedStdio(opts, stdio)
	d, err := dialDaemon(proto.SocketPath(stdio.getenv, home), stdio.getenv, files)
	if err != nil {
		return nil, reachError(err)
	}
	s := &session{stdio: stdio, daemon: d, ep: d.Endpoint(), become: become, passed: files != nil, config: config}
	level := s.logLevel(opts)
	s.level = level
	s.prompts = newPrompter(stdio, level == levelQuiet)
	s.prompts.fromStdin(become, opts)
	s.prompts.serve(s.ep)
	creq := proto.ConnectRequest{
		Host: opts.Host, Config: opts.Config, ConfigFile: opts.ConfigFile,
		Home: home, LocalUser: localUser, AuthSock: stdio.getenv("SSH_AUTH_SOCK"), Verbose: level.debugDepth(), LogLevel: level.String(),
		Prompt: !s.batchMode(opts) && s.prompts.available(),
		Chains: chainsFile(stdio.getenv, home),
		Shell:  stdio.getenv("SHELL"), Path: stdio.getenv("PATH"),
	}
	creq.Steps = steps
	if rc, _ := s.resolveOnly(opts); rc.ok {
		if rc.dialErr != nil {
			s.close()
			return nil, rc.dialErr
		}
		creq.Resolved = rc.dial // the daemon dials what was resolved here, in the caller's environment
	}
	env := s.remoteEnv(opts)
	creq.EnvNames = env.names()
	if become != nil {
		creq.Steps = append(append([]proto.Step(nil), steps...), become.step)
		creq.StdinPrompt = become.stdinPrompt
	}
	creq.Early = files != nil && become == nil && len(steps) == 0 && opts.Command != "" && !opts.Subsystem && !s.wantsPTY(opts)
	s.creq = creq
	req, _ := json.Marshal(creq)
	resp, err := d.Call(ctx, proto.DaemonConnect, req)
	if err != nil {
		s.close()
		if ctx.Err() != nil {
			return nil, &Error{Err: ctx.Err()} // interrupted, maybe at a prompt: ssh would die quietly
		}
		return nil, callError(err)
	}
	var cr proto.ConnectReply
	if err := json.Unmarshal(resp, &cr); err != nil {
		s.close()
		return nil, &Error{Msg: "fakessh: daemon: bad reply: " + err.Error(), Err: err}
	}
	io.WriteString(stdio.Stderr, cr.Stderr) // a ProxyCommand's own words, as ssh leaves them
	if cr.Error != nil {
		s.close()
		return nil, &Error{Messages: shownLines(cr.Error, level), Err: errConnect}
	}
	if len(cr.Failure) > 0 { // an older daemon: no levels
		s.close()
		return nil, &Error{Messages: cr.Failure, Err: errConnect}
	}
	if r := cr.Refused; r != nil && r.Policy && become != nil {
		s.close()
		return nil, errBecomeDenied
	}
	if r := cr.Refused; r != nil {
		// sudo, su or doas refused, before the command ran: its own words, its status, as the
		// command's failure would end the call under ssh.
		s.close()
		io.WriteString(stdio.Stderr, r.Stderr)
		return nil, &ExitError{Status: r.Status}
	}
	s.target, s.host, s.fwdDisabled, s.early = cr.Context, cr.Host, cr.ForwardingDisabled, cr.Early
	s.env = env.all()
	if cr.EnvChecked {
		s.env = env.only(cr.AcceptedEnv)
	}
	if s.host == "" {
		s.host = opts.Host
	}
	if level >= levelError { // the daemon left out what LogLevel ERROR hides
		for _, w := range cr.Warnings {
			fmt.Fprint(stdio.Stderr, logMessage(w))
		}
	}
	if level >= levelDebug1 {
		fmt.Fprint(stdio.Stderr, logLines(strings.Join(cr.Debug, "\n")))
	}
	s.debugResolved(opts, env, cr)
	return s, nil
}

func (s *session) close() {
	if s.prompts != nil {
		s.prompts.close() // first: a question on the terminal restores it
	}
	s.daemon.Close()
}

// localAccount is the HOME and login name fakessh resolves configuration with: $HOME wins
// (tests and callers set it), the password database fills in.
func localAccount(stdio Stdio) (home, name string) {
	home, name = stdio.getenv("HOME"), stdio.getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
		if home == "" {
			home = u.HomeDir
		}
	}
	return home, name
}

func (s *session) exec(ctx context.Context, opts *flagparse.Options) error {
	req := proto.ExecRequest{Command: opts.Command, Env: s.env}
	switch {
	case opts.Subsystem:
		req = proto.ExecRequest{Subsystem: opts.Command, Env: req.Env}
	case s.become != nil:
		// sudo and doas reset the environment the caller sent; su passes it on.
		env := req.Env
		req = s.become.exec
		if s.become.step.Method == "su" {
			req.Env = env
		}
	}
	pty, end, err := s.ttySetup(opts)
	if err != nil {
		return err
	}
	defer end.finish(s.stdio.Stderr)
	if pty != nil {
		if err := s.waitAgent(ctx); err != nil { // the pty policy is asked of the connection
			return err
		}
	}
	if pty, err = s.ptyGranted(ctx, pty, end); err != nil {
		return err
	}
	req.PTY = pty
	req.SCP = scpRequest(req)
	fwd, err := s.agentForwarding(opts)
	if err != nil {
		return err
	}
	if fwd != nil {
		req.ForwardAgent = true
		fwd.serve(s)
		defer fwd.stop()
	}
	if s.passed && pty == nil {
		return s.execPassed(ctx, opts, req)
	}
	if err := s.waitAgent(ctx); err != nil {
		return err
	}
	payload, _ := json.Marshal(req)
	st, err := s.open(ctx, proto.AgentExec, payload)
	if errors.Is(err, tunnel.ErrDisconnected) {
		return s.lostError(err)
	}
	if err != nil {
		return &Error{Msg: fmt.Sprintf("fakessh: %s: %v", opts.Host, err), Err: err}
	}
	defer st.Close()
	if pty != nil {
		go s.watchWindow(ctx, st)
	}
	stdin := s.stdio.Stdin
	if opts.NoStdin {
		stdin = nil
	}
	return s.pump(ctx, st, stdin)
}

// pump carries a command's stream to its end: stdin (nil: none) to it, its data and stderr to
// ours, a TERM when ctx ends, and its exit (or, from the daemon, why the connection went) as
// the call's result.
func (s *session) pump(ctx context.Context, st *tunnel.Stream, stdin io.Reader) error {
	stop := context.AfterFunc(ctx, func() { st.SendRequest(proto.ReqSignal, []byte("TERM")) })
	defer stop()
	if stdin == nil {
		st.CloseWrite()
	} else {
		go func() {
			io.Copy(st, stdin)
			st.CloseWrite()
		}()
	}
	var wg sync.WaitGroup
	var outErr, errErr error
	wg.Add(2)
	go func() { defer wg.Done(); _, outErr = io.Copy(s.stdio.Stdout, st) }()
	go func() { defer wg.Done(); _, errErr = io.Copy(s.stdio.Stderr, st.Stderr()) }()
	exit, lost := waitExit(st)
	wg.Wait()
	if exit == nil && lost != "" {
		return &Error{Msg: lost}
	}
	return s.exitResult(exit, errors.Join(outErr, errErr))
}

// exitResult is the call's end: nil for status 0, the exit, or, when the stream ended without
// one, the connection's loss (copyErr, if any, saying how the streams ended).
func (s *session) exitResult(exit *ExitError, copyErr error) error {
	if exit == nil {
		if copyErr == nil {
			copyErr = errors.New("no exit status")
		}
		return s.lostError(copyErr)
	}
	if exit.Status == 0 && exit.Signal == "" {
		return nil
	}
	if s.become != nil && s.become.shellStatus {
		return shellExit(exit)
	}
	return exit
}

// waitExit collects a command stream's exit status or signal until its requests end; a
// DaemonExecFDs stream may say instead why the connection went (proto.ReqLost).
func waitExit(st *tunnel.Stream) (exit *ExitError, lost string) {
	for r := range st.Requests() {
		switch r.Name {
		case proto.ReqExitStatus:
			if len(r.Payload) == 4 {
				exit = &ExitError{Status: int(int32(binary.BigEndian.Uint32(r.Payload)))}
			}
		case proto.ReqExitSignal:
			var es proto.ExitSignal
			if json.Unmarshal(r.Payload, &es) == nil {
				exit = &ExitError{Status: 255, Signal: es.Signal, CoreDumped: es.CoreDumped}
			}
		case proto.ReqLost:
			lost = string(r.Payload)
		}
	}
	return exit, lost
}

// batchMode is BatchMode as ssh resolves it for the destination: when set, nothing is asked.
func (s *session) batchMode(opts *flagparse.Options) bool {
	v, _ := opts.Config.Get("batchmode")
	if o, _, ok := s.resolved(opts); ok {
		v = o.Get("batchmode")
	}
	v, _ = sshopt.Multistate("flag", v)
	return v == "yes"
}
