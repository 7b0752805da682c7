package sshconfig

import "github.com/mitogen-go/mitogend/internal/sshopt"

// Options maps a lowercase canonical keyword (aliases such as "identityfile2"
// are folded into "identityfile") to its values, in the order obtained.
//
// Single-valued keywords hold one value. Keywords that take a list on one
// line (SendEnv, SetEnv, UserKnownHostsFile, GlobalKnownHostsFile, ...) hold
// one value per word. Forwards hold ssh's colon form ("8080:host:80").
// ProxyCommand, LocalCommand, RemoteCommand, KnownHostsCommand and ProxyJump
// hold the rest of the line verbatim, as ssh passes them on. Values are not
// %-expanded; Target does that. Input.Cmdline uses the same shape (that of
// flagparse.Config): words already split and unquoted.
type Options map[string][]string

// Get returns the first value for key, or "" when it is unset.
func (o Options) Get(key string) string {
	if v := o[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// All returns every value for key.
func (o Options) All(key string) []string {
	return o[key]
}

// has reports whether key has been obtained already, which is what makes
// the first obtained value win.
func (o Options) has(key string) bool {
	_, ok := o[key]
	return ok
}

// Forwards returns the resolved forwards of key ("localforward", "remoteforward" or
// "dynamicforward") in the form ssh -G prints them ("8080 [host]:80"); a dynamic remote
// forward ("-R [bind:]port") is its listen address alone. Resolved values read like -L
// arguments, whichever form they were given in.
func (o Options) Forwards(key string) []string {
	var out []string
	for _, v := range o.All(key) {
		spec, ok := sshopt.ParseForward(v, key == "dynamicforward", key == "remoteforward")
		if !ok && key == "remoteforward" {
			spec, ok = sshopt.ParseForward(v, true, true)
		}
		if ok {
			out = append(out, spec)
		}
	}
	return out
}
