package client

import (
	"sort"
	"strings"

	"github.com/mitogen-go/mitogend/flagparse"
)

// The option policy. fakessh runs commands over a tunnel the daemon owns, so ssh's options fall
// in three groups:
//
//   - honoured: they change what fakessh or the daemon does (Port, User, IdentityFile, SendEnv,
//     RequestTTY, forwards, ...); nothing to check here.
//   - inert: they tune ssh's own transport or multiplexing, which the daemon replaces (Ciphers,
//     Compression, ControlMaster, ControlPath, ControlPersist, ...), or they ask for what fakessh
//     does anyway (RemoteCommand none); accepted silently so that scp, sftp,
//     rsync, git and Ansible can pass them.
//   - refused: honouring them would change behaviour fakessh cannot reproduce (X11
//     forwarding, a local command, tun devices); dropping them silently would make a
//     caller believe it got what it asked for, so they are an error with status 255.
//
// Only the command line is checked: ~/.ssh/config is shared with the real ssh, and a "Host *
// ForwardX11 yes" there must not break every fakessh call. ForwardAgent is honoured, for the
// one call (agentfwd.go). ProxyJump and ProxyCommand are
// honoured by the daemon, which resolves and runs them when it connects.

// refusal says why a value of a keyword cannot be honoured, or "" when it can.
type refusal func(vals []string) string

// refused maps lowercase keywords to their check. Keywords absent here are inert or honoured.
var refused = map[string]refusal{
	"forwardx11":        unless("no", "fakessh: X11 forwarding (-X, -Y, ForwardX11) is not supported"),
	"remotecommand":     unless("none", "fakessh: RemoteCommand is not supported; give the command on the command line"),
	"tunnel":            unless("no", "fakessh: tun device forwarding (-w, Tunnel) is not supported"),
	"localcommand":      always("fakessh: LocalCommand is not supported"),
	"pkcs11provider":    unless("none", "fakessh: PKCS#11 (-I, PKCS11Provider) is not supported"),
	"bindaddress":       always("fakessh: -b/BindAddress is not supported"),
	"bindinterface":     always("fakessh: -B/BindInterface is not supported"),
	"certificatefile":   always("fakessh: CertificateFile is not supported"),
	"knownhostscommand": unless("none", "fakessh: KnownHostsCommand is not supported"),
}

// unless refuses any value but ok (and its synonyms), compared case-insensitively.
func unless(ok, msg string) refusal {
	return func(vals []string) string {
		for _, v := range vals {
			if !sameValue(v, ok) {
				return msg
			}
		}
		return ""
	}
}

func always(msg string) refusal {
	return func(vals []string) string {
		if len(vals) == 0 {
			return ""
		}
		return msg
	}
}

// sameValue compares option values as ssh's multistate tables do: no is also false, none is
// also an empty value.
func sameValue(v, want string) bool {
	v = strings.ToLower(strings.Trim(v, `"`))
	switch want {
	case "no":
		return v == "no" || v == "false"
	case "none":
		return v == "none" || v == ""
	}
	return v == want
}

// checkSupported refuses command lines that ask for what fakessh cannot do, with an ssh-style
// message and status 255, before anything connects. LocalCommand is refused only where ssh would
// run it (PermitLocalCommand yes).
func checkSupported(opts *flagparse.Options) error {
	if opts.Query != "" {
		return &Error{Msg: "fakessh: -Q is not supported"}
	}
	if opts.DumpConfig {
		return nil // -G only prints the configuration, as ssh -G does whatever it says
	}
	keys := make([]string, 0, len(opts.Config))
	for k := range opts.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a stable message when several options are refused
	for _, k := range keys {
		check, ok := refused[k]
		if !ok {
			continue
		}
		if k == "localcommand" && !localCommandPermitted(opts.Config) {
			continue // ssh runs LocalCommand only with PermitLocalCommand yes
		}
		if msg := check(opts.Config.All(k)); msg != "" {
			return &Error{Msg: msg}
		}
	}
	return nil
}

func localCommandPermitted(c flagparse.Config) bool {
	v, _ := c.Get("permitlocalcommand")
	v = strings.ToLower(v)
	return v == "yes" || v == "true"
}
