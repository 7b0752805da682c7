package client

import (
	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/sshconfig"
)

// resolvedConfig is the destination's configuration as ssh resolves it (command line, then the
// config files), kept for the session's lifetime once read.
type resolvedConfig struct {
	opts     sshconfig.Options
	hostName string
	ok       bool
	err      error // why not ok
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
		home, name := localAccount(s.stdio)
		rc := &resolvedConfig{}
		o, err := sshconfig.Resolve(configInput(opts, s.stdio))
		rc.err = err
		if err == nil {
			rc.opts, rc.ok = o, true
			if t, err := o.Target(opts.Host, home, name); err == nil {
				rc.hostName = t.HostName
			}
		}
		s.config = rc
	}
	return s.config, s.config.err
}

// configInput is what one call's configuration is resolved from, for the session and for -G
// alike.
func configInput(opts *flagparse.Options, stdio Stdio) sshconfig.Input {
	home, name := localAccount(stdio)
	return sshconfig.Input{Host: opts.Host, Cmdline: sshconfig.Options(opts.Config), ConfigFile: opts.ConfigFile,
		Home: home, LocalUser: name, StdioForward: opts.StdioForward != ""}
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
