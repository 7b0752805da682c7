package daemon

import (
	"fmt"
	"strings"

	"github.com/mitogen-go/mitogend/internal/bootstrap"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// sudoMarker opens the prompt the daemon gives sudo (-p), so that the agent can tell sudo's
// password prompt from anything else on the terminal. It is stripped before the user sees the
// prompt, which reads as sudo's default.
const sudoMarker = "[mitogen-sudo]"

// passwordPrompts mark the prompts of su's PAM conversation and of doas: "Password: ",
// "doas (alice@host) password: ", and the common translations of the word.
var passwordPrompts = []string{"password", "passwort", "mot de passe", "contraseña", "senha", "wachtwoord", "lösenord", "пароль", "密码"}

// stepKey names what must match for two calls to share a context: the method, its user and
// group, and the options that shape the context. sudo's -n does not: it only decides whether
// starting may prompt.
func stepKey(st proto.Step) string {
	return strings.Join(append([]string{st.Method, st.Program, st.User, st.Group, strings.Join(st.Argv, "\x01"), fmt.Sprint(st.Fallback)}, st.Flags...), "\x02")
}

// stepName is how logs and status name a step.
func stepName(st proto.Step) string {
	if st.Method == "exec" {
		return strings.Join(st.Argv, " ")
	}
	name := st.Method + " -u " + userOf(st)
	switch {
	case st.Method == "su":
		name = "su " + userOf(st)
	case st.Method == "sudo" && st.User == "":
		name = "sudo"
	}
	if len(st.Flags) > 0 {
		name += " " + strings.Join(st.Flags, " ")
	}
	return name
}

// program is the tool to run: as the caller named it, else by its name on the PATH.
func program(st proto.Step) string {
	if st.Program != "" {
		return st.Program
	}
	return st.Method
}

func userOf(st proto.Step) string {
	if st.User == "" && st.Method != "exec" {
		return "root"
	}
	return st.User
}

// spawnRequest is the command that starts st's context: the method run as a user would run it
// on the target, its command the bootstrap's shell command line.
func spawnRequest(st proto.Step, id router.ID, name string) proto.SpawnRequest {
	boot := bootstrap.Command()
	req := proto.SpawnRequest{ID: id, Name: name}
	switch st.Method {
	case "sudo":
		argv := append([]string{program(st)}, st.Flags...)
		if st.NonInteractive {
			argv = append(argv, "-n")
		}
		if st.User != "" {
			argv = append(argv, "-u", st.User)
		}
		if st.Group != "" {
			argv = append(argv, "-g", st.Group)
		}
		prompt := "[sudo] password for %p: "
		if st.Prompt != "" {
			prompt = st.Prompt // the caller's -p, expanded by sudo as it would have been
		}
		req.Argv = append(argv, "-p", sudoMarker+prompt, "--", "/bin/sh", "-c", boot)
		req.Prompts, req.Strip, req.AnswerOn = []string{sudoMarker}, sudoMarker, "tty"
	case "doas":
		argv := []string{program(st)}
		if st.NonInteractive {
			argv = append(argv, "-n")
		}
		req.Argv = append(argv, "-u", userOf(st), "--", "/bin/sh", "-c", boot)
		req.Prompts, req.AnswerOn = passwordPrompts, "tty"
	case "su":
		// su runs the command with the user's own login shell, which boot survives.
		argv := append([]string{program(st)}, st.Flags...)
		req.Argv = append(argv, userOf(st), "-c", boot)
		req.Prompts, req.AnswerOn = passwordPrompts, "stdin"
	default: // exec: a container runtime and its arguments
		req.Argv = append(append([]string(nil), st.Argv...), "/bin/sh", "-c", boot)
	}
	return req
}
