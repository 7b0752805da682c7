package client

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
)

// stdinAnswers answers the password prompts of the sudo that starts a call's become context
// from fakessh's own standard input, as the command line's `sudo -S -p PROMPT` would have read
// them under ssh (Ansible's become with a password: it waits for its prompt on the output and
// writes the password on stdin). The prompt is sudo's own rendering of the caller's -p (with
// "Sorry, try again." before a repeated one); it goes where sudo -S writes it, stderr, or stdout
// when the command gets a pty (-tt, where the remote terminal carries both). The answer is the
// next line of stdin, read a byte at a time as sudo reads it, so that nothing after it is taken
// from the command. End of input is no answer, and sudo says so in its own words. A context
// that is already up asks nothing, as sudo with a valid timestamp would not: the caller then
// sees the command's own output (Ansible's BECOME-SUCCESS line) without a prompt.
type stdinAnswers struct {
	in  io.Reader
	out io.Writer
	tty bool // a pty: sudo reads with echo off and ends the line after the answer
}

// fromStdin makes p answer become prompts from stdin when bc's command line says its password
// comes from there.
func (p *prompter) fromStdin(bc *becomeCall, opts *flagparse.Options) {
	if bc == nil || !bc.stdinPrompt || p.stdio.Stdin == nil {
		return
	}
	tty := opts.TTY == flagparse.TTYForce
	out := p.stdio.Stderr
	if tty {
		out = p.stdio.Stdout
	}
	p.stdin = &stdinAnswers{in: p.stdio.Stdin, out: out, tty: tty}
}

// answer shows req's prompt and reads its answer. It gives up, with no answer, when the
// prompter stops (the call is interrupted) while stdin has nothing to say.
func (a *stdinAnswers) answer(req proto.PromptRequest, done <-chan struct{}) ([]byte, error) {
	io.WriteString(a.out, req.Prompt)
	type line struct {
		s  string
		ok bool
	}
	got := make(chan line, 1)
	go func() {
		s, ok := readAnswerLine(a.in)
		got <- line{s, ok}
	}()
	select {
	case l := <-got:
		if a.tty {
			io.WriteString(a.out, "\r\n")
		}
		return json.Marshal(proto.PromptReply{Answer: l.s, NoAnswer: !l.ok})
	case <-done:
		return nil, &unanswered{}
	}
}

// readAnswerLine reads up to and without a newline (and a carriage return before it), one byte at a
// time. ok is false at end of input with nothing read.
func readAnswerLine(r io.Reader) (string, bool) {
	var b strings.Builder
	var c [1]byte
	for {
		n, err := r.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				break
			}
			b.WriteByte(c[0])
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && b.Len() > 0 {
				break
			}
			return "", b.Len() > 0
		}
	}
	return strings.TrimSuffix(b.String(), "\r"), true
}
