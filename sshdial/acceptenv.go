package sshdial

import (
	"fmt"

	"golang.org/x/crypto/ssh"
)

// AcceptedEnv asks the server which of names its AcceptEnv lets through, as ssh learns nothing
// but the server applies: on a session channel that runs nothing it sends one "env" request per
// name with want-reply set (sshd's session_env_req answers success only for an accepted name),
// then closes the channel. The answer depends on sshd's configuration for this connection
// (Match blocks included), so a caller may keep it for the connection's lifetime.
func (c *Client) AcceptedEnv(names []string) (map[string]bool, error) {
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		return nil, fmt.Errorf("sshdial: env probe: %w", err)
	}
	go ssh.DiscardRequests(reqs)
	defer ch.Close()
	accepted := make(map[string]bool, len(names))
	for _, n := range names {
		ok, err := ch.SendRequest("env", true, ssh.Marshal(struct{ Name, Value string }{n, ""}))
		if err != nil {
			return nil, fmt.Errorf("sshdial: env probe: %w", err)
		}
		accepted[n] = ok
	}
	return accepted, nil
}
