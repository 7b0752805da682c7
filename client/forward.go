package client

import (
	"context"

	"github.com/mitogen-go/mitogend/flagparse"
)

// startForwards sets up -L, -R and -D forwards over the tunnel.
func (s *session) startForwards(ctx context.Context, opts *flagparse.Options) error {
	for _, k := range []string{"localforward", "remoteforward", "dynamicforward"} {
		if len(opts.Config.All(k)) > 0 {
			return &Error{Msg: "fakessh: port forwarding is not supported yet"}
		}
	}
	return nil
}

// stdioForward joins stdin/stdout to a TCP connection opened from the target (-W).
func (s *session) stdioForward(ctx context.Context, opts *flagparse.Options) error {
	return &Error{Msg: "fakessh: -W is not supported yet"}
}
