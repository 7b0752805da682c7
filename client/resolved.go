package client

import (
	"errors"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/sshconfig"
)

// resolvedConfig is the destination's configuration as ssh resolves it (command line, then the
// config files), kept for the session's lifetime once read.
type resolvedConfig struct {
	opts     sshconfig.Options
	hostName string
	ok       bool
	err      error // why not ok
	// dial is opts as the daemon dials them (dialConfig), dialErr why they cannot be: ssh's
	// fatal lines for an unset ${NAME}, which stop a call before it connects.
	dial    sshconfig.Options
	dialErr error
}

// resolved returns the resolved configuration and HostName. ok is false when the files cannot
// be read; the daemon, which reads them too, reports why, and the command line alone decides.
func (s *session) resolved(opts *flagparse.Options) (sshconfig.Options, string, bool) {
	s.resolveOnly(opts)
	return s.config.opts, s.config.hostName, s.config.ok
}

// resolveOnly resolves the configuration once per session and returns why it could not be.
func (s *session) resolveOnly(opts *flagparse.Options) (*resolvedConfig, error) {
	if s.config == nil {
		s.config = resolveConfig(opts, s.stdio)
	}
	return s.config, s.config.err
}

// resolveConfig resolves one call's configuration. A call does it once (a Match exec runs its
// command once, as ssh's does) and keeps the result for its sessions.
func resolveConfig(opts *flagparse.Options, stdio Stdio) *resolvedConfig {
	home, name := localAccount(stdio)
	rc := &resolvedConfig{}
	o, err := sshconfig.Resolve(configInput(opts, stdio))
	rc.err = err
	if err == nil {
		rc.opts, rc.ok = o, true
		if t, err := o.Target(opts.Host, home, name); err == nil {
			rc.hostName = t.HostName
		}
		rc.dial, rc.dialErr = dialConfig(opts, rc, stdio, true)
	}
	return rc
}

// dialConfig is what the daemon dials for rc: its options with the caller's ${NAME}s expanded,
// those ssh expands when it loads identities included (the daemon has not the caller's
// environment). The error is ssh's fatal one for a variable that is not set.
func dialConfig(opts *flagparse.Options, rc *resolvedConfig, stdio Stdio, load bool) (sshconfig.Options, error) {
	o, err := sshconfig.ExpandEnv(rc.opts, stdio.lookupEnv, load)
	if err != nil {
		return nil, configFailure(opts, &resolvedConfig{err: err})
	}
	return o, nil
}

// configFailure is the error for a configuration ssh refuses before it connects (a bad line,
// a Match exec that failed): its lines as the command line's LogLevel lets ssh print them. nil
// when rc's failure is not one of those (unreadable files): the daemon reports those.
func configFailure(opts *flagparse.Options, rc *resolvedConfig) error {
	var ce *sshconfig.ConfigError
	if !errors.As(rc.err, &ce) || len(ce.Messages) == 0 {
		return nil
	}
	// The files' own LogLevel never applied: the command line's decides.
	level, _ := opts.Config.Get("loglevel")
	return &Error{Messages: shownLines(proto.NewCallError(proto.FailConfig, ce.Messages), parseLogLevel(level)), Err: rc.err}
}

// configInput is what one call's configuration is resolved from, for the session and for -G
// alike.
func configInput(opts *flagparse.Options, stdio Stdio) sshconfig.Input {
	home, name := localAccount(stdio)
	shell, set := stdio.lookupEnv("SHELL")
	return sshconfig.Input{Host: opts.Host, Cmdline: sshconfig.Options(opts.Config), ConfigFile: opts.ConfigFile,
		Home: home, LocalUser: name, StdioForward: opts.StdioForward != "",
		Exec: sshconfig.ShellExec(shell, set, stdio.Environ, stdio.Stderr), Getenv: stdio.lookupEnv}
}

// withResolvedForwards returns opts with its forwarding options taken from the resolved
// configuration, so that LocalForward, RemoteForward, DynamicForward, GatewayPorts and the like
// in ssh_config count as they do for ssh.
func (s *session) withResolvedForwards(opts *flagparse.Options) *flagparse.Options {
	cfg, _, ok := s.resolved(opts)
	if !ok {
		return opts
	}
	o := *opts
	o.Config = flagparse.Config{}
	for k, v := range opts.Config {
		o.Config[k] = v
	}
	for _, k := range []string{"clearallforwardings", "gatewayports", "exitonforwardfailure"} {
		if v := cfg.All(k); len(v) > 0 {
			o.Config[k] = v
		}
	}
	for _, k := range []string{"localforward", "remoteforward", "dynamicforward"} {
		specs := cfg.Forwards(k)
		delete(o.Config, k)
		if len(specs) > 0 {
			o.Config[k] = specs
		}
	}
	return &o
}
