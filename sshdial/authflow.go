package sshdial

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/internal/vis"
)

// errNoMethods ends authentication when no method is left to try: ssh's
// "Permission denied (...)".
var errNoMethods = errors.New("sshdial: no more authentication methods to try")

// authFlow is the state of sshconnect2.c's userauth() and authmethod_get().
type authFlow struct {
	supported string   // the server's list the walk below is over
	rest      []string // what is left of PreferredAuthentications
	current   string   // the method being tried, "" before the first
	disabled  map[string]bool

	pubkeyTried bool
	firstKeys   bool // first() offered the keys before the server said which methods it allows
	noneOwed    bool // first() went ahead of ssh's "none": it is the last resort (next)
	partial     bool // a method succeeded partially (AuthenticationMethods)
	passwords   int  // password requests sent (ssh's attempt_passwd)
	kbdints     int  // keyboard-interactive requests sent (attempt_kbdint)
	infoSeen    bool // the server sent a keyboard-interactive question (info_req_seen)
	aborted     error
}

func newAuthFlow() authFlow { return authFlow{disabled: map[string]bool{}} }

// next is the ClientConfig.AuthCallback, ssh's userauth() after a failure: the method
// being tried goes on while it can (another password try), else the next in
// PreferredAuthentications order that the server allows and the options enable. A new list
// from the server (a partial success) starts the walk over. With none left it fails, and
// handshakeError words that as "Permission denied".
func (a *auth) next(ctx *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
	a.allowed = ctx.AllowedMethods
	f := &a.flow
	if f.aborted != nil {
		return nil, f.aborted
	}
	if f.firstKeys {
		// The keys were judged only if the server still lists publickey: one that allows it
		// only after another method (AuthenticationMethods password,publickey) refused them
		// unseen, and they are offered once it allows them, as ssh offers them then.
		f.firstKeys = false
		f.pubkeyTried = slices.Contains(ctx.AllowedMethods, "publickey")
	}
	f.partial = f.partial || len(ctx.PartialSuccessMethods) > 0
	list := strings.Join(ctx.AllowedMethods, ",")
	if list != f.supported {
		f.supported, f.rest, f.current = list, a.c.Auth.preferred(), ""
	} else if f.current != "" && a.enabled(f.current) {
		if m := a.start(f.current); m != nil {
			return m, nil
		}
		f.disabled[f.current] = true
	}
	for {
		name, ok := f.pop(ctx.AllowedMethods)
		if !ok && f.noneOwed && !f.partial {
			// The "none" ssh starts with, which a server may let an account in with, goes
			// last: sent after the keys it counts against sshd's MaxAuthTries, as the first
			// request it does not, so sending it before a prompt would cost a password try.
			f.noneOwed, f.current = false, "none"
			return ssh.NoneAuth(), nil
		}
		if !ok {
			a.c.logf("No more authentication methods to try.")
			return nil, errNoMethods
		}
		f.current = name
		if !a.enabled(name) {
			continue
		}
		if m := a.start(name); m != nil {
			a.c.logf("Next authentication method: %s", name)
			return m, nil
		}
		f.disabled[name] = true // "we did not send a packet, disable method"
	}
}

// first is the method tried before the server has said which it allows (ClientConfig.FirstAuth,
// third_party/golang.org/x/crypto/PATCHES.md): publickey when it is the first preferred method
// the options enable, as with ssh's defaults, and there is a key to offer; else nil, and the
// "none" request ssh starts with. Its request goes out with the service request: two round
// trips fewer. "none" goes last, if nothing else gets the account in (next).
func (a *auth) first() ssh.AuthMethod {
	for _, name := range a.c.Auth.preferred() {
		if !a.enabled(name) {
			continue
		}
		if name != "publickey" {
			return nil
		}
		signers, err := a.signers()
		if err != nil || len(signers) == 0 {
			return nil
		}
		a.flow.current, a.flow.firstKeys, a.flow.noneOwed = name, true, true
		a.c.logf("Next authentication method: %s", name)
		return ssh.PublicKeysCallback(func() ([]ssh.Signer, error) { return signers, nil })
	}
	return nil
}

// pop is match_list(preferred, supported): the first remaining preferred method the server
// allows, with everything before it dropped.
func (f *authFlow) pop(allowed []string) (string, bool) {
	for len(f.rest) > 0 {
		name := f.rest[0]
		f.rest = f.rest[1:]
		for _, m := range allowed {
			if m == name {
				return name, true
			}
		}
	}
	return "", false
}

// enabled is authmethod_is_enabled: the options allow the method (BatchMode and a caller
// that cannot be asked rule out the interactive ones, and so does a host key that got
// through only under StrictHostKeyChecking=no), and it has not given up.
func (a *auth) enabled(name string) bool {
	if a.flow.disabled[name] {
		return false
	}
	t := a.c.Target
	interactive := a.c.Prompt != nil && !t.BatchMode && !a.hk.result.ForwardingDisabled
	switch name {
	case "publickey":
		return !a.c.Auth.NoPubkey
	case "keyboard-interactive":
		return interactive && t.KbdInteractiveAuthentication
	case "password":
		return interactive && t.PasswordAuthentication
	}
	return false // gssapi-with-mic, hostbased, none: not implemented
}

// start is the method's userauth function: the AuthMethod for one more request, or nil when
// it has nothing more to send.
func (a *auth) start(name string) ssh.AuthMethod {
	f, max := &a.flow, a.c.Auth.prompts()
	switch name {
	case "publickey":
		if f.pubkeyTried { // x/crypto offers every key in one go
			return nil
		}
		f.pubkeyTried = true
		return ssh.PublicKeysCallback(a.signers)
	case "keyboard-interactive":
		f.kbdints++
		if f.kbdints > max || (f.kbdints > 1 && !f.infoSeen) {
			return nil
		}
		return ssh.KeyboardInteractive(a.challenge)
	case "password":
		f.passwords++
		if f.passwords > max {
			return nil
		}
		if f.passwords != 1 {
			a.say("Permission denied, please try again.")
		}
		return ssh.PasswordCallback(a.password)
	}
	return nil
}

// promptHost is how ssh names the host in its prompts: HostKeyAlias, else HostName.
func (a *auth) promptHost() string {
	if a.c.Target.HostKeyAlias != "" {
		return a.c.Target.HostKeyAlias
	}
	return a.c.Target.HostName
}

// password is userauth_passwd's prompt.
func (a *auth) password() (string, error) {
	return a.ask(fmt.Sprintf("%s@%s's password: ", a.c.Target.User, a.promptHost()), false)
}

// challenge is input_userauth_info_req: the name and instruction are logged, each question
// asked with the user and host in front.
func (a *auth) challenge(name, instruction string, questions []string, echos []bool) ([]string, error) {
	a.flow.infoSeen = true
	if name != "" {
		a.say(name)
	}
	if instruction != "" {
		a.say(instruction)
	}
	answers := make([]string, len(questions))
	for i, q := range questions {
		ans, err := a.ask(fmt.Sprintf("(%s@%s) %s", a.c.Target.User, a.promptHost(), vis.Safe(q)), echos[i])
		if err != nil {
			return nil, err
		}
		answers[i] = ans
	}
	return answers, nil
}

// say is ssh's log on stderr during authentication: held for the next prompt.
func (a *auth) say(msg string) {
	if a.held == nil {
		a.c.warnf("%s", msg)
		return
	}
	a.held.warnf("%s", msg)
}

// ask puts one question to the caller. An unanswered one is an empty answer, as in ssh;
// losing the caller ends authentication.
func (a *auth) ask(prompt string, echo bool) (string, error) {
	a.disarm()
	q := Question{Messages: a.held.take(), Prompt: prompt, Echo: echo}
	ans, err := a.c.Prompt(a.ctx, q)
	var un *Unanswered
	switch {
	case err == nil:
		return ans, nil
	case errors.As(err, &un):
		if un.Message != "" {
			a.say(un.Message)
		}
		return "", nil
	}
	a.c.logf("sshdial: prompt: %v", err)
	a.flow.aborted = fmt.Errorf("sshdial: prompt: %w", err)
	return "", a.flow.aborted
}
