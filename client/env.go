package client

import (
	"slices"
	"strings"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/sshopt"
)

// envVar is one "env" request ssh would send.
type envVar struct{ name, value string }

// sentEnv is what ssh sends as "env" requests, in its order: the local variables the resolved
// SendEnv patterns match (client_session2_setup walks environ), then the SetEnv assignments.
type sentEnv []envVar

// remoteEnv resolves SendEnv and SetEnv as ssh does, from the command line and the config files
// (Debian's stock ssh_config has "SendEnv LANG LC_*"); the command line alone when the files
// cannot be read.
func (s *session) remoteEnv(opts *flagparse.Options) sentEnv {
	sendEnv, setEnv := opts.Config.All("sendenv"), opts.Config.All("setenv")
	if o, _, ok := s.resolved(opts); ok {
		sendEnv, setEnv = o.All("sendenv"), o.All("setenv")
	}
	var env sentEnv
	for _, kv := range s.stdio.Environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && slices.ContainsFunc(sendEnv, func(p string) bool { return sshopt.MatchPattern(k, p) }) {
			env = append(env, envVar{k, v})
		}
	}
	for _, kv := range setEnv {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env = append(env, envVar{k, v})
		}
	}
	return env
}

// names are the variables' names, each once.
func (e sentEnv) names() []string {
	var n []string
	for _, v := range e {
		if !slices.Contains(n, v.name) {
			n = append(n, v.name)
		}
	}
	return n
}

// all is the environment the requests leave behind: a later request for a name wins, as in
// sshd.
func (e sentEnv) all() map[string]string {
	m := map[string]string{}
	for _, v := range e {
		m[v.name] = v.value
	}
	return m
}

// only is all for the accepted names.
func (e sentEnv) only(accepted []string) map[string]string {
	m := map[string]string{}
	for _, v := range e {
		if slices.Contains(accepted, v.name) {
			m[v.name] = v.value
		}
	}
	return m
}
