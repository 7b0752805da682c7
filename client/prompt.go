package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/mitogen-go/mitogend/internal/sshopt"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// prompter is fakessh's side of proto.ClientPrompt. The daemon owns the SSH connection, so
// what ssh would ask on its terminal (a password, a keyboard-interactive question, later sudo's
// or su's) comes here as a call, and is answered as ssh 9.2's read_passphrase answers: on
// /dev/tty with echo off unless asked otherwise, or through SSH_ASKPASS as
// SSH_ASKPASS_REQUIRE and DISPLAY say. Questions are taken from the daemon only, one at a
// time, for as long as the call lasts.
type prompter struct {
	stdio Stdio
	quiet bool          // -q: the questions' log messages are not printed
	stdin *stdinAnswers // become prompts answered from stdin (sudo -S); nil: on the terminal

	mu   sync.Mutex    // held while a question is asked: they share one terminal
	done chan struct{} // closed by close or a termination signal: no more questions
	once sync.Once
}

func newPrompter(stdio Stdio, quiet bool) *prompter {
	return &prompter{stdio: stdio, quiet: quiet, done: make(chan struct{})}
}

// serve answers the daemon's ClientPrompt calls on ep until close.
func (p *prompter) serve(ep *tunnel.Endpoint) { ep.HandleCall(proto.ClientPrompt, p.handle) }

// available is what ConnectRequest.Prompt says: whether read_passphrase would reach the
// user, on a terminal or through an askpass program.
func (p *prompter) available() bool {
	if allow, _ := askpassPolicy(p.stdio.getenv); allow {
		return true
	}
	tty, err := openTTY()
	if err != nil {
		return false
	}
	tty.Close()
	return true
}

// errNotDaemon refuses a question from anyone but the daemon: a target must not be able to
// ask the user for a password.
var errNotDaemon = errors.New("fakessh: prompts are answered for the daemon only")

// unanswered is read_passphrase coming back without an answer: the reply is an error whose
// text is what ssh printed ("" when it printed nothing), and ssh would go on with "".
type unanswered struct{ msg string }

func (u *unanswered) Error() string { return u.msg }

func (p *prompter) handle(_ context.Context, src router.ID, payload []byte) ([]byte, error) {
	if src != proto.Root {
		return nil, errNotDaemon
	}
	var req proto.PromptRequest
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, fmt.Errorf("fakessh: bad prompt request: %w", err)
	}
	if req.Become && p.stdin != nil {
		return p.stdin.answer(req, p.done)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped() {
		return nil, &unanswered{}
	}
	if !p.quiet {
		for _, m := range req.Messages {
			fmt.Fprint(p.stdio.Stderr, logMessage(m))
		}
	}
	answer, err := p.readPassphrase(req.Prompt, req.Echo)
	if err != nil {
		return nil, err
	}
	return json.Marshal(proto.PromptReply{Answer: answer})
}

// close stops answering. A question being asked gives up at once (an askpass program is
// killed), and close returns once the terminal is as it was.
func (p *prompter) close() {
	p.stop()
	p.mu.Lock()
	p.mu.Unlock()
}

func (p *prompter) stop() { p.once.Do(func() { close(p.done) }) }

func (p *prompter) stopped() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// readPassphrase is read_passphrase(prompt, echo ? RP_ECHO : 0) of ssh 9.2's readpass.c.
func (p *prompter) readPassphrase(prompt string, echo bool) (string, error) {
	allow, use := askpassPolicy(p.stdio.getenv)
	if !use {
		// ssh starts the line afresh, over whatever was typed ahead while echo was still on.
		if tty, err := openTTY(); err == nil {
			tty.WriteString("\r")
			tty.Close()
		} else {
			use = true // "read_passphrase: can't open /dev/tty: ...", at debug level
		}
	}
	if use && allow {
		return p.askpass(prompt)
	}
	return p.readTTY(prompt, echo)
}

// askpassPolicy is read_passphrase's allow_askpass and use_askpass before it looks for a
// terminal: DISPLAY set and not empty allows an askpass program, and SSH_ASKPASS_REQUIRE
// forces (force), prefers (prefer, when allowed) or forbids (never) it. ssh 9.2 does not look
// at WAYLAND_DISPLAY.
func askpassPolicy(getenv func(string) string) (allow, use bool) {
	allow = getenv("DISPLAY") != ""
	switch sshopt.ASCIILower(getenv("SSH_ASKPASS_REQUIRE")) {
	case "force":
		use, allow = true, true
	case "prefer":
		use = allow
	case "never":
		allow = false
	}
	return allow, use
}
