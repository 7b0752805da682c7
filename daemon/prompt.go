package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/sshdial"
	"github.com/mitogen-go/mitogend/tunnel"
)

// promptTimeout bounds one question to a caller's user. sshd gives a client LoginGraceTime
// (120 s by default) to authenticate in all, so waiting longer for one answer gains nothing.
const promptTimeout = 2 * time.Minute

// promptGrace is what a connection whose caller can be asked gets on top of its connect
// timeout: the user's typing is not the target's delay.
const promptGrace = promptTimeout

// promptCaller asks the user of the fakessh at context caller, through its ClientPrompt
// service, what ssh would ask on that user's terminal. Only the call that opens a connection
// asks: callers waiting for the same connection share its outcome, and a connection once
// authenticated serves its whole life without asking again.
func (d *Daemon) promptCaller(caller router.ID) sshdial.PromptFunc {
	return func(ctx context.Context, q sshdial.Question) (string, error) {
		payload, _ := json.Marshal(proto.PromptRequest{Prompt: q.Prompt, Echo: q.Echo, Messages: q.Messages})
		ctx, cancel := context.WithTimeout(ctx, promptTimeout)
		defer cancel()
		resp, err := d.ep.Call(ctx, caller, proto.ClientPrompt, payload)
		var re *tunnel.RemoteError
		if errors.As(err, &re) {
			// The client's refusal: read_passphrase came back empty-handed.
			return "", &sshdial.Unanswered{Message: re.Msg}
		}
		if err != nil {
			return "", fmt.Errorf("daemon: asking context %d: %w", caller, err)
		}
		var reply proto.PromptReply
		if err := json.Unmarshal(resp, &reply); err != nil {
			return "", fmt.Errorf("daemon: bad prompt reply from context %d: %w", caller, err)
		}
		return reply.Answer, nil
	}
}
