package client

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/syserr"
	"github.com/mitogen-go/mitogend/sshconfig"
)

// dumpConfig is -G: print the resolved configuration as ssh -G does and exit without connecting.
// Callers (git) only need status 0 and a plausible listing, but the keys fakessh acts on carry
// the values the daemon will use.
func dumpConfig(opts *flagparse.Options, stdio Stdio) error {
	s := &session{stdio: stdio, config: resolveConfig(opts, stdio)}
	if s.config.err != nil {
		if err := configFailure(opts, s.config); err != nil {
			return err
		}
		return configError(s.config.err)
	}
	// ssh decides about the pty (and says it will allocate none) before -G prints.
	cfg := s.ttyConfig(opts)
	_, isTerm := terminalFD(stdio.Stdin)
	if _, msg := wantTTY(cfg, opts.Command != "", isTerm); msg && cfg.info && opts.ControlCommand == "" {
		fmt.Fprint(stdio.Stderr, logLines(noTTYMessage))
	}
	if err := s.checkAgentSocket(opts, cfg); err != nil {
		return err
	}
	expanded, err := dialConfig(opts, s.config, stdio, false) // -G prints identity files as written
	if err != nil {
		return err
	}
	err = sshconfig.DumpResolved(stdio.Stdout, expanded, configInput(opts, stdio))
	if err != nil {
		return configError(err)
	}
	return nil
}

// configError shows a configuration error with the lines ssh prints, anything else (a bad
// port, a failed write) as fakessh's own.
func configError(err error) error {
	var ce *sshconfig.ConfigError
	if errors.As(err, &ce) && len(ce.Messages) > 0 {
		return &Error{Msg: strings.Join(ce.Messages, "\n"), Err: err}
	}
	return &Error{Msg: "fakessh: " + err.Error(), Err: err}
}

// checkAgentSocket is ssh.c's check of a ForwardAgent socket path, made before -G prints: a
// path that cannot be stat'ed is an error message, and with ExitOnForwardFailure the end.
func (s *session) checkAgentSocket(opts *flagparse.Options, cfg ttyOptions) error {
	o, _, ok := s.resolved(opts)
	fa := o.Get("forwardagent")
	switch strings.ToLower(fa) {
	case "", "yes", "no", "true", "false":
		return nil
	}
	if !ok {
		return nil
	}
	home, name := localAccount(s.stdio)
	t, err := o.Target(opts.Host, home, name)
	if err != nil {
		return nil // Dump reports it
	}
	if !sshconfig.LegacyEnvName(fa) { // ssh stats "$NAME" as written
		if fa, err = t.ForwardAgentPath(fa, home, name, s.stdio.lookupEnv); err != nil {
			return nil // the expansion's own error comes with the dump
		}
	}
	if _, err := os.Stat(fa); err != nil {
		if cfg.errors {
			fmt.Fprint(s.stdio.Stderr, logLines(fmt.Sprintf("Cannot forward agent socket path %q: %s", fa, syserr.Text(err))))
		}
		if o.Get("exitonforwardfailure") == "yes" {
			return &Error{Err: err}
		}
	}
	return nil
}
