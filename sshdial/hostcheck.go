package sshdial

import (
	"fmt"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
)

// How check_host_key may touch known_hosts.
const (
	readWrite = iota
	readOnly  // no user known_hosts file: never add
	readQuiet // the retry without the port: neither add nor warn of a change
)

// hostCheck is one run of OpenSSH 9.2's sshconnect.c check_host_key: its
// decisions, and what it prints on stderr in the order it prints it.
type hostCheck struct {
	c     *Config
	files []string // user known_hosts files, then global ones
	now   time.Time

	lines  []string     // stderr lines so far
	info   map[int]bool // indexes of lines ssh logs with logit (LogLevel INFO)
	result HostKeyResult
	fatal  bool // ExitOnForwardFailure: ssh exits instead of carrying on
	// cleared mirrors ssh turning options off once it has said so.
	cleared bool
}

func newHostCheck(c *Config) *hostCheck {
	t := c.Target
	files := append(append([]string(nil), t.UserKnownHostsFiles...), t.GlobalKnownHostsFiles...)
	return &hostCheck{c: c, files: files, now: time.Now()}
}

func (h *hostCheck) say(format string, args ...any) {
	h.lines = append(h.lines, fmt.Sprintf(format, args...))
}

// sayInfo is say for a logit message, which LogLevel ERROR hides.
func (h *hostCheck) sayInfo(format string, args ...any) {
	if h.info == nil {
		h.info = map[int]bool{}
	}
	h.info[len(h.lines)] = true
	h.say(format, args...)
}

// hostfileName is get_hostfile_hostname_ipaddr's name: HostKeyAlias
// verbatim, else put_host_port (the bare name for port 22 or 0).
func (h *hostCheck) hostfileName(hostname string, port int) string {
	if a := h.c.Target.HostKeyAlias; a != "" {
		return a
	}
	if port == 0 || port == 22 {
		return hostname
	}
	return "[" + hostname + "]:" + strconv.Itoa(port)
}

// check decides on key for hostname:port. A certificate that does not
// pass is retried as its plain key, unless it is revoked; an unknown key
// on a port other than 22 is first looked up under the bare name.
func (h *hostCheck) check(hostname string, port int, key ssh.PublicKey, readonly int, clobberPort bool) (bool, hostStatus) {
	t := h.c.Target
	lookupPort := port
	if clobberPort {
		lookupPort = 0
	}
	host := h.hostfileName(hostname, lookupPort)
	entries := loadHostkeys(host, h.files, h.c.logf)
	for {
		cert, wantCert := key.(*ssh.Certificate)
		typ := keyName(key)
		status, found := checkKeyInHostkeys(entries, key)
		if readonly == readWrite && len(t.UserKnownHostsFiles) == 0 {
			readonly = readOnly
		}
		failed := false
		switch status {
		case hostOK:
			failed = !h.known(hostname, host, typ, found, cert)
		case hostNew:
			if t.HostKeyAlias == "" && port != 0 && port != 22 && !clobberPort {
				if h.withoutPort(hostname, key) {
					return true, status
				}
				if h.fatal {
					return false, status
				}
			}
			failed = readonly != readWrite || wantCert || !h.unknown(host, typ, key)
		case hostRevoked:
			failed = !h.revokedKey(host, typ)
		case hostChanged:
			failed = readonly == readQuiet || !h.changed(host, key, found)
		}
		if !failed {
			return true, status
		}
		if wantCert && status != hostRevoked && !h.fatal {
			h.c.logf("No matching CA found. Retry with plain key")
			key = cert.Key
			continue
		}
		return false, status
	}
}

// withoutPort looks an unknown key up again under the bare host name,
// quietly: found there, it passes.
func (h *hostCheck) withoutPort(hostname string, key ssh.PublicKey) bool {
	h.c.logf("checking without port identifier")
	ok, _ := h.check(hostname, 0, key, readQuiet, true)
	if ok {
		h.c.logf("found matching key w/out port")
	}
	return ok
}

// revokedKey is HOST_REVOKED: the banner, then refusal unless
// StrictHostKeyChecking=no, which carries on as for a changed key.
func (h *hostCheck) revokedKey(host, typ string) bool {
	h.lines = append(h.lines, revokedLines(typ, host)...)
	if h.c.Target.StrictHostKeyChecking == "no" {
		return h.continueUnsafe()
	}
	h.say("%s host key for %.200s was revoked and you have requested strict checking.", typ, host)
	return false
}

// known is HOST_OK: a plain key is trusted; a certificate signed by a
// listed CA must still be valid for this host now.
func (h *hostCheck) known(hostname, host, typ string, found *hostEntry, cert *ssh.Certificate) bool {
	what, in := "key", "key"
	if cert != nil {
		what, in = "certificate", "CA key"
	}
	h.c.logf("Host '%.200s' is known and matches the %s host %s.", host, typ, what)
	h.c.logf("Found %s in %s:%d", in, found.file, found.line)
	if cert == nil {
		return true
	}
	name := hostname
	if a := h.c.Target.HostKeyAlias; a != "" {
		name = a
	}
	if reason := certProblem(cert, name, h.now); reason != "" {
		h.say("%s", reason)
		return false
	}
	h.result.Certificate = true
	return true
}

// unknown is HOST_NEW for a plain key when known_hosts may be written:
// refuse under "yes" and "ask" (nobody can be asked), else add the key.
func (h *hostCheck) unknown(host, typ string, key ssh.PublicKey) bool {
	switch h.c.Target.StrictHostKeyChecking {
	case "yes":
		h.say("No %s host key is known for %.200s and you have requested strict checking.", typ, host)
		return false
	case "ask":
		// ssh in BatchMode refuses without a word; nobody can be asked here.
		h.c.logf("StrictHostKeyChecking=ask cannot prompt; refusing unknown host key for %s", host)
		return false
	}
	file := h.c.Target.UserKnownHostsFiles[0]
	if err := addHostKey(file, host, key, h.c.Target.HashKnownHosts); err != nil {
		h.c.logf("adding host key to %s: %v", file, err)
		h.sayInfo("Failed to add the host to the list of known hosts (%.500s).", file)
	} else {
		h.sayInfo("Warning: Permanently added '%.200s' (%s) to the list of known hosts.", host, typ)
		h.result.Added = true
	}
	return true
}

// changed is HOST_CHANGED: the banner, then refusal unless
// StrictHostKeyChecking=no, which carries on with forwarding turned off.
func (h *hostCheck) changed(host string, key ssh.PublicKey, found *hostEntry) bool {
	h.lines = append(h.lines, changedLines(key)...)
	h.say("Add correct host key in %.100s to get rid of this message.", firstOr(h.c.Target.UserKnownHostsFiles, "(null)"))
	h.say("Offending %s key in %s:%d", keyName(found.key), found.file, found.line)
	// Debian's OpenSSH adds how to remove the entry.
	h.say("  remove with:")
	h.say("  ssh-keygen -f \"%s\" -R \"%s\"", found.file, host)
	if h.c.Target.StrictHostKeyChecking != "no" {
		h.say("Host key for %.200s has changed and you have requested strict checking.", host)
		return false
	}
	return h.continueUnsafe()
}

// continueUnsafe is check_host_key's continue_unsafe: the key gets
// through, and ssh turns off, naming each, what a man in the middle could
// abuse. With ExitOnForwardFailure, turning any of it off is fatal.
func (h *hostCheck) continueUnsafe() bool {
	h.result.ForwardingDisabled = true
	if h.cleared {
		return true
	}
	h.cleared = true
	t, r := h.c.Target, h.c.Requests
	cancelled := false
	for _, off := range []struct {
		on   bool
		line string
	}{
		{t.PasswordAuthentication, "Password authentication is disabled to avoid man-in-the-middle attacks."},
		{t.KbdInteractiveAuthentication, "Keyboard-interactive authentication is disabled to avoid man-in-the-middle attacks."},
		{r.ForwardAgent, "Agent forwarding is disabled to avoid man-in-the-middle attacks."},
		{r.ForwardX11, "X11 forwarding is disabled to avoid man-in-the-middle attacks."},
		{r.PortForwards, "Port forwarding is disabled to avoid man-in-the-middle attacks."},
		{r.Tunnel, "Tunnel forwarding is disabled to avoid man-in-the-middle attacks."},
	} {
		if off.on {
			h.say("%s", off.line)
			cancelled = true
		}
	}
	if r.UpdateHostKeys {
		h.say("UpdateHostkeys is disabled because the host key is not trusted.")
	}
	if r.ExitOnForwardFailure && cancelled {
		h.say("Error: forwarding disabled due to host key check failure")
		h.fatal = true
		return false
	}
	return true
}

func firstOr(list []string, def string) string {
	if len(list) == 0 {
		return def
	}
	return list[0]
}
