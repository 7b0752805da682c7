// Package chains reads named chains and the one-off steps fakessh's own -o keys give: a name, or
// an option, that stands for an ssh destination and the contexts to start below it (sudo, su,
// doas, a container runtime). It turns text into proto.Steps; it starts nothing.
package chains

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/mitogen-go/mitogend/internal/sshopt"
	"github.com/mitogen-go/mitogend/proto"
)

// A chains file is in ssh_config syntax whose Host blocks define names usable wherever a
// host name is, as a destination reached over SSH (Via) and contexts started below it in the
// order given:
//
//	Host db-as-postgres
//	    Via db.example.com          # an ssh destination, or another chain's name
//	    Become sudo                 # sudo, su or doas; then, for it:
//	    BecomeUser postgres
//	    BecomeFlags -H
//	    Container docker app        # docker, podman, kubectl, lxc, nsenter, chroot, or exec ARGV...
//
// The first Host block that matches wins (patterns and negation as in ssh_config); keywords are
// case-insensitive. A name that no block matches is an ordinary ssh destination.

// maxChainDepth bounds Via chains through other chains' names, which also stops cycles.
const maxChainDepth = 8

// chain is a named chain's definition.
type chain struct {
	via   string
	steps []proto.Step
}

// Expand rewrites req when its host is a chain's name in req.Chains: the host becomes the SSH
// destination, and the chain's steps come before those of the request.
func Expand(req proto.ConnectRequest) (proto.ConnectRequest, error) {
	if req.Chains == "" {
		return req, nil
	}
	for depth := 0; ; depth++ {
		ch, ok, err := lookupChain(req.Chains, req.Host)
		if err != nil || !ok {
			return req, err
		}
		if depth == maxChainDepth {
			return req, fmt.Errorf("chains: %s: chain %q: Via goes through more than %d chains (a cycle?)", req.Chains, req.Host, maxChainDepth)
		}
		req.Host = ch.via
		req.Resolved = nil // resolved for the chain's name, not for what it goes through
		req.Steps = append(append([]proto.Step(nil), ch.steps...), req.Steps...)
	}
}

// lookupChain reads the chains file for host.
func lookupChain(path, host string) (chain, bool, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return chain{}, false, nil
	}
	if err != nil {
		return chain{}, false, fmt.Errorf("chains: %w", err)
	}
	defer f.Close()
	return parseChain(bufio.NewScanner(f), path, host)
}

func parseChain(sc *bufio.Scanner, path, host string) (chain, bool, error) {
	var ch chain
	in, found := false, false
	for n := 1; sc.Scan(); n++ {
		kw, rest := sshopt.SplitLine(sc.Text())
		if kw == "" {
			continue
		}
		args, ok := sshopt.SplitArgs(rest)
		bad := func(why string) (chain, bool, error) {
			return chain{}, false, fmt.Errorf("%s: line %d: %s", path, n, why)
		}
		if !ok {
			return bad("unmatched quote")
		}
		if kw == "host" {
			if found {
				break
			}
			in = false
			for _, p := range args {
				if m := sshopt.MatchPatternList(host, p, true); m < 0 {
					in = false
					break
				} else if m > 0 {
					in = true
				}
			}
			found = in
			continue
		}
		if !in {
			continue
		}
		if err := ch.keyword(kw, args); err != nil {
			return bad(err.Error())
		}
	}
	if err := sc.Err(); err != nil {
		return chain{}, false, fmt.Errorf("chains: %w", err)
	}
	if found && ch.via == "" {
		return chain{}, false, fmt.Errorf("%s: Host %s has no Via", path, host)
	}
	return ch, found, nil
}

// keywords are the chain keywords as messages spell them.
var keywords = map[string]string{"via": "Via", "become": "Become", "becomeuser": "BecomeUser",
	"becomegroup": "BecomeGroup", "becomeflags": "BecomeFlags", "container": "Container"}

// keyword applies one line of a Host block (kw lowercased).
func (ch *chain) keyword(kw string, args []string) error {
	name := keywords[kw]
	last := func() (*proto.Step, error) {
		if len(ch.steps) == 0 || ch.steps[len(ch.steps)-1].Method == "exec" {
			return nil, fmt.Errorf("%s without a Become before it", name)
		}
		return &ch.steps[len(ch.steps)-1], nil
	}
	one := func() (string, error) {
		if len(args) != 1 {
			return "", fmt.Errorf("%s takes one argument", name)
		}
		return args[0], nil
	}
	switch kw {
	case "via":
		v, err := one()
		ch.via = v
		return err
	case "become":
		v, err := one()
		if err != nil {
			return err
		}
		if v != "sudo" && v != "su" && v != "doas" {
			return fmt.Errorf("Become %q: sudo, su or doas", v)
		}
		ch.steps = append(ch.steps, proto.Step{Method: v})
	case "becomeuser", "becomegroup":
		st, err := last()
		if err != nil {
			return err
		}
		v, err := one()
		if kw == "becomeuser" {
			st.User = v
		} else {
			st.Group = v
		}
		return err
	case "becomeflags":
		st, err := last()
		if err != nil {
			return err
		}
		st.Flags = append(st.Flags, args...)
	case "container":
		st, err := Container(args)
		if err != nil {
			return err
		}
		ch.steps = append(ch.steps, st)
	default:
		return fmt.Errorf("unknown keyword %q", kw)
	}
	return nil
}

// Container is the step into a container: the command that runs a shell command line inside it,
// a preset's (args: runtime and name) or, for "exec", the arguments themselves.
func Container(args []string) (proto.Step, error) {
	argv, err := containerArgv(args)
	return proto.Step{Method: "exec", Argv: argv}, err
}

// Become is a become step from "METHOD[:USER]" (sudo, su or doas; no user: root).
func Become(spec string) (proto.Step, error) {
	method, user, _ := strings.Cut(spec, ":")
	if method != "sudo" && method != "su" && method != "doas" {
		return proto.Step{}, fmt.Errorf("become %q: sudo, su or doas, then :USER", spec)
	}
	return proto.Step{Method: method, User: user}, nil
}

func containerArgv(args []string) ([]string, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("Container takes a runtime and a name (or exec and a command)")
	}
	name := args[1]
	switch args[0] {
	case "docker", "podman":
		return []string{args[0], "exec", "-i", name}, nil
	case "kubectl":
		return []string{"kubectl", "exec", "-i", name, "--"}, nil
	case "lxc":
		return []string{"lxc-attach", "-n", name, "--"}, nil
	case "nsenter":
		return []string{"nsenter", "-t", name, "-a"}, nil
	case "chroot":
		return []string{"chroot", name}, nil
	case "exec":
		return append([]string(nil), args[1:]...), nil
	}
	return nil, fmt.Errorf("Container runtime %q: docker, podman, kubectl, lxc, nsenter, chroot or exec", args[0])
}
