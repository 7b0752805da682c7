package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// TestAskpassPolicy is readpass.c's allow_askpass/use_askpass for each SSH_ASKPASS_REQUIRE.
func TestAskpassPolicy(t *testing.T) {
	for _, c := range []struct {
		display, require string
		allow, use       bool
	}{
		{"", "", false, false},
		{":0", "", true, false},
		{"", "force", true, true},
		{"", "Force", true, true},
		{":0", "prefer", true, true},
		{"", "prefer", false, false},
		{":0", "never", false, false},
		{":0", "bogus", true, false},
	} {
		env := map[string]string{"DISPLAY": c.display, "SSH_ASKPASS_REQUIRE": c.require}
		allow, use := askpassPolicy(func(k string) string { return env[k] })
		if allow != c.allow || use != c.use {
			t.Errorf("DISPLAY=%q SSH_ASKPASS_REQUIRE=%q: allow %v use %v, want %v %v", c.display, c.require, allow, use, c.allow, c.use)
		}
	}
}

// TestReadLine: the answer ends at a newline or a carriage return, end of file keeps what was
// typed, the rest of an overlong line is dropped, and a read error is no answer.
func TestReadLine(t *testing.T) {
	for in, want := range map[string]string{"pw\nrest": "pw", "pw\rrest": "pw", "partial": "partial", "": ""} {
		if got, err := readLine(strings.NewReader(in)); err != nil || got != want {
			t.Errorf("readLine(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	long := strings.Repeat("x", maxAnswer+10) + "\n"
	if got, _ := readLine(strings.NewReader(long)); len(got) != maxAnswer {
		t.Errorf("overlong line: %d bytes kept, want %d", len(got), maxAnswer)
	}
	boom := errors.New("boom")
	if _, err := readLine(io.MultiReader(strings.NewReader("pw"), iotest.ErrReader(boom))); !errors.Is(err, boom) {
		t.Errorf("read error: err = %v", err)
	}
}

// TestPromptOnlyFromDaemon: a question from any context but the daemon is refused unread.
func TestPromptOnlyFromDaemon(t *testing.T) {
	p := newPrompter(Stdio{Stderr: io.Discard}, false)
	req, _ := json.Marshal(proto.PromptRequest{Prompt: "password: "})
	if _, err := p.handle(context.Background(), router.ID(7), req); !errors.Is(err, errNotDaemon) {
		t.Errorf("question from context 7: err = %v", err)
	}
}

// TestPromptAfterClose: once closed, the prompter answers nothing, and says nothing.
func TestPromptAfterClose(t *testing.T) {
	var stderr strings.Builder
	p := newPrompter(Stdio{Stderr: &stderr}, false)
	p.close()
	req, _ := json.Marshal(proto.PromptRequest{Prompt: "password: ", Messages: []string{"hello"}})
	_, err := p.handle(context.Background(), proto.Root, req)
	var un *unanswered
	if !errors.As(err, &un) || un.msg != "" || stderr.Len() != 0 {
		t.Errorf("after close: err = %v, stderr %q", err, stderr.String())
	}
}

// TestAskpassExecFailure is ssh's message for a program that cannot run.
func TestAskpassExecFailure(t *testing.T) {
	for env, want := range map[string]string{
		"SSH_ASKPASS=/nonexistent/x":       "ssh_askpass: exec(/nonexistent/x): No such file or directory",
		"SSH_ASKPASS=":                     "ssh_askpass: exec(): No such file or directory",
		"SSH_ASKPASS=no-such-prog-on-path": "ssh_askpass: exec(no-such-prog-on-path): No such file or directory",
	} {
		p := newPrompter(Stdio{Stderr: io.Discard, Environ: []string{env, "PATH=/nonexistent"}}, false)
		_, err := p.askpass("password: ")
		var un *unanswered
		if !errors.As(err, &un) || un.msg != want {
			t.Errorf("%s: err = %v, want %q", env, err, want)
		}
	}
}
