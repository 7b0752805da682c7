package daemon

import (
	"fmt"
	"strings"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/sshdial"
)

// A call whose only difference from a live connection is how it checks host keys (its known_hosts
// files, StrictHostKeyChecking, HostKeyAlias, at any hop) rides that connection when its own
// check of the keys the connection was accepted with passes, at every hop, as a fresh ssh's
// would: the same check every caller gets at reuse (recheck). Ansible's synchronize is the
// case: its rsync runs `ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null` beside
// the play's own connection. Accepting any key, that call accepts the key the connection holds,
// with the warning ssh prints; a stricter caller finds it in its own known_hosts or opens its
// own connection as before (never worse than ssh: a failed check is not an error here).

// shareKey is the chain's key without the host-key files and policy, at every hop.
func (ch targetChain) shareKey(authSock string) string {
	parts := []string{ch.proxy}
	for _, h := range ch.hops {
		parts = append(parts, hostKeyFree(h.target, authSock)+"\x00"+h.addr)
	}
	return strings.Join(parts, "\x00\x00") + "\x00\x00" + hostKeyFree(ch.dest.target, authSock) + "\x00" + ch.dest.addr
}

// hostKeyFree is targetKey with the settings recheck applies per call left out.
func hostKeyFree(t sshconfig.Target, authSock string) string {
	t.HostKeyAlias, t.StrictHostKeyChecking = "", ""
	t.UserKnownHostsFiles, t.GlobalKnownHostsFiles = nil, nil
	return targetKey(t, authSock)
}

// sharedCheck is the caller's own check of a compatible connection's keys: what ssh would print.
type sharedCheck struct {
	result   sshdial.HostKeyResult
	warnings []string
}

// compatibleConn is a live connection that differs from chain's only in host-key checking and
// whose keys pass this caller's check, when there is no connection of chain's own key, with
// that check. nil otherwise: the caller takes or opens its own.
func (d *Daemon) compatibleConn(chain targetChain, req proto.ConnectRequest) (*conn, *sharedCheck) {
	key, share := chain.key(req.AuthSock), chain.shareKey(req.AuthSock)
	d.mu.Lock()
	if own, ok := d.conns.byKey[key]; ok && own.alive() {
		d.mu.Unlock()
		return nil, nil
	}
	var candidates []*conn
	for c := range d.conns.byShare[share] {
		if c.filedAs != key && dialedOrUp(c) && len(c.hops) == len(chain.hops) {
			candidates = append(candidates, c)
		}
	}
	d.mu.Unlock()
	for _, c := range candidates {
		check := &sharedCheck{}
		res, err := d.recheck(c, chain, req, func(format string, args ...any) {
			check.warnings = append(check.warnings, fmt.Sprintf(format, args...))
		})
		if err == nil {
			check.result = res
			d.logf("daemon: %s: shared with a caller whose host-key options differ (its own check passed)", c.dest)
			return c, check
		}
	}
	return nil, nil
}

// dialedOrUp reports whether c is up, or logged in with its agent still on its way behind an
// early first call (its hops and host key are known). Called under Daemon.mu.
func dialedOrUp(c *conn) bool {
	return isClosed(c.dialed) && c.alive()
}
