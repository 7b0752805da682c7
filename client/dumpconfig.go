package client

import (
	"errors"
	"strings"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/sshconfig"
)

// dumpConfig is -G: print the resolved configuration as ssh -G does and exit without connecting.
// Callers (git) only need status 0 and a plausible listing, but the keys fakessh acts on carry
// the values the daemon will use.
func dumpConfig(opts *flagparse.Options, stdio Stdio) error {
	err := sshconfig.Dump(stdio.Stdout, configInput(opts, stdio))
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
