package client

import (
	"errors"
	"strings"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/chains"
	"github.com/mitogen-go/mitogend/internal/sshopt"
	"github.com/mitogen-go/mitogend/proto"
)

// becomeCall is a remote command that a become context serves exactly as the target's login
// shell would have run it: the command is a sudo, doas or su -c command line of literal words,
// whose options a context started once through the real tool reproduces. The context then runs
// what the tool would have run, the way the tool runs it.
type becomeCall struct {
	step proto.Step
	exec proto.ExecRequest // what the context runs

	// stdinPrompt: the command line's sudo reads its password from stdin (-S) with its own
	// prompt; fakessh shows the prompt and reads the answer there (see stdinAnswers).
	stdinPrompt bool
	// shellStatus: a shell wrapped the command line (Ansible's /bin/sh -c '... && sleep 0'),
	// which exits 128+N where the command dies of signal N.
	shellStatus bool
}

// optionSteps are the contexts fakessh's own -o keys ask for (mitogen.become,
// mitogen.container), in command-line order. They are not ssh options: they leave cfg.
func optionSteps(cfg flagparse.Config) ([]proto.Step, error) {
	var steps []proto.Step
	for _, v := range cfg.All(flagparse.MitogenSteps) {
		kind, spec, _ := strings.Cut(v, " ")
		var st proto.Step
		var err error
		if kind == "become" {
			st, err = chains.Become(strings.TrimSpace(spec))
		} else {
			args, ok := sshopt.SplitArgs(spec)
			if !ok {
				return nil, &Error{Msg: "command-line line 0: invalid quotes"}
			}
			st, err = chains.Container(args)
		}
		if err != nil {
			return nil, &Error{Msg: "fakessh: -o mitogen." + kind + ": " + err.Error(), Err: err}
		}
		steps = append(steps, st)
	}
	delete(cfg, flagparse.MitogenSteps)
	return steps, nil
}

// errBecomeDenied: the policy of sudo or doas refused the become context for the command.
var errBecomeDenied = errors.New("client: the become context was refused by policy")

// detectBecome looks at the remote command. A command it cannot honour exactly (anything the
// shell would interpret, options a persistent context cannot reproduce) runs as ssh would run
// it, under the login shell: never worse than ssh.
func detectBecome(command string) (becomeCall, bool) {
	if bc, ok := ansibleBecome(command); ok {
		return bc, true
	}
	argv, ok := flagparse.SplitCommand(command)
	if !ok {
		return becomeCall{}, false
	}
	b, err := flagparse.ParseBecome(argv)
	if err != nil {
		return becomeCall{}, false
	}
	switch b.Method {
	case "sudo":
		return sudoCall(b)
	case "doas":
		return doasCall(b)
	case "su":
		return suCall(b)
	}
	return becomeCall{}, false
}

// authOnly reports whether b's authentication options leave a persistent context's answer the
// same: -n (never prompt) does; -S, -A, -k and a custom -p prompt change how, or whether, the
// user is asked each time, so they run as ssh would.
func authOnly(b *flagparse.Become) bool {
	return !b.AskPass && !b.ResetTimestamp && ((!b.PasswordFromStdin && !b.HasPrompt) || b.NonInteractive)
}

func sudoCall(b *flagparse.Become) (becomeCall, bool) {
	if !authOnly(b) || len(b.Env) > 0 || b.Login || b.Shell || b.Dir != "" || b.PreserveGroups || len(b.SuppGroups) > 0 {
		return becomeCall{}, false
	}
	st := proto.Step{Method: "sudo", Program: b.Program, Group: b.Group, NonInteractive: b.NonInteractive, Fallback: true, Command: b.Command}
	if !b.DefaultUser {
		st.User = b.User
	}
	if b.PreserveEnv {
		st.Flags = append(st.Flags, "-E")
	}
	if len(b.PreserveEnvList) > 0 {
		st.Flags = append(st.Flags, "--preserve-env="+strings.Join(b.PreserveEnvList, ","))
	}
	// -H only sets HOME: the context is the plain one, and the command gets HOME as -H gives it.
	return becomeCall{step: st, exec: proto.ExecRequest{Argv: b.Command, NotFound: "sudo: %s: command not found", KeepDir: true, SetHome: b.SetHome}}, true
}

func doasCall(b *flagparse.Become) (becomeCall, bool) {
	st := proto.Step{Method: "doas", Program: b.Program, User: b.User, NonInteractive: b.NonInteractive, Fallback: true, Command: b.Command}
	return becomeCall{step: st, exec: proto.ExecRequest{Argv: b.Command, NotFound: "doas: %s: No such file or directory", KeepDir: true}}, true
}

func suCall(b *flagparse.Become) (becomeCall, bool) {
	if b.ShellCommand == "" || len(b.ShellArgs) > 0 || b.Fast || b.Group != "" || len(b.SuppGroups) > 0 {
		return becomeCall{}, false
	}
	st := proto.Step{Method: "su", Program: b.Program, User: b.User, Fallback: true}
	if b.Login {
		st.Flags = append(st.Flags, "-l")
	}
	if b.PreserveEnv {
		st.Flags = append(st.Flags, "-m")
	}
	if len(b.PreserveEnvList) > 0 {
		st.Flags = append(st.Flags, "-w", strings.Join(b.PreserveEnvList, ","))
	}
	if b.ShellPath != "" {
		st.Flags = append(st.Flags, "-s", b.ShellPath)
	}
	return becomeCall{step: st, exec: proto.ExecRequest{Command: b.ShellCommand, KeepDir: true}}, true
}
