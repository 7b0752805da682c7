package sshdial

import (
	"github.com/mitogen-go/mitogend/internal/sshopt"
	"github.com/mitogen-go/mitogend/sshconfig"
)

// RequestsFor reads Requests from resolved options (command line and
// config files), with ssh's defaults: ClearAllForwardings drops every
// forward, and UpdateHostKeys is on by default only when
// UserKnownHostsFile and VerifyHostKeyDNS are left alone.
func RequestsFor(o sshconfig.Options) Requests {
	flag := func(key string) bool {
		v, _ := sshopt.Multistate("flag", o.Get(key))
		return v == "yes"
	}
	r := Requests{
		ForwardX11:           flag("forwardx11"),
		ExitOnForwardFailure: flag("exitonforwardfailure"),
	}
	// ForwardAgent takes yes/no or a socket to forward.
	if fa := o.Get("forwardagent"); fa != "" {
		v, known := sshopt.Multistate("flag", fa)
		r.ForwardAgent = !known || v == "yes"
	}
	if v, _ := sshopt.Multistate("tunnel", o.Get("tunnel")); v != "" && v != "no" {
		r.Tunnel = true
	}
	if !flag("clearallforwardings") {
		for _, k := range []string{"localforward", "remoteforward", "dynamicforward"} {
			r.PortForwards = r.PortForwards || len(o.Forwards(k)) > 0
		}
	}
	switch v, _ := sshopt.Multistate("updatehostkeys", o.Get("updatehostkeys")); v {
	case "yes", "ask":
		r.UpdateHostKeys = true
	case "":
		dns, _ := sshopt.Multistate("verifyhostkeydns", o.Get("verifyhostkeydns"))
		r.UpdateHostKeys = len(o.All("userknownhostsfile")) == 0 && dns != "yes" && dns != "ask"
	}
	return r
}
