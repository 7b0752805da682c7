package client

import (
	"context"

	"github.com/mitogen-go/mitogend/flagparse"
)

// dumpConfig is -G: print the resolved configuration and exit without connecting.
func dumpConfig(opts *flagparse.Options, stdio Stdio) error {
	return &Error{Msg: "fakessh: -G is not supported yet"}
}

// control is -O: talk to the daemon about the destination's tunnel.
func control(ctx context.Context, opts *flagparse.Options, stdio Stdio) error {
	return &Error{Msg: "fakessh: -O is not supported yet"}
}
