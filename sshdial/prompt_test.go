package sshdial

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/mitogen-go/mitogend/sshconfig"
)

// asker is a PromptFunc answering from a script, recording each Question.
type asker struct {
	mu        sync.Mutex
	questions []Question
	answers   []func() (string, error)
}

func (a *asker) ask(_ context.Context, q Question) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.questions = append(a.questions, q)
	if len(a.answers) == 0 {
		return "", errors.New("asker: no more answers")
	}
	next := a.answers[0]
	a.answers = a.answers[1:]
	return next()
}

func says(s string) func() (string, error) { return func() (string, error) { return s, nil } }

func passwordServer(t *testing.T) (*testServer, serverOpts) {
	_, hostKey := newEd25519(t)
	o := serverOpts{hostKeys: []ssh.Signer{hostKey}, password: "pw", passwords: make(chan string, 10)}
	return startServer(t, o), o
}

// knownTarget is a Target for srv whose known_hosts holds its key, and password
// authentication on.
func knownTarget(t *testing.T, srv *testServer, o serverOpts) sshconfig.Target {
	dir := t.TempDir()
	tg := baseTarget(srv.port, dir)
	writeTestFile(t, tg.UserKnownHostsFiles[0], knownLine(fmt.Sprintf("[127.0.0.1]:%d", srv.port), o.hostKeys[0].PublicKey()))
	tg.PasswordAuthentication = true
	return tg
}

// TestPasswordQuestions: the prompt is ssh's, "Permission denied, please try again." comes with
// the second, and what Warnf would have printed before the first prompt comes with it.
func TestPasswordQuestions(t *testing.T) {
	srv, _ := passwordServer(t)
	dir := t.TempDir()
	tg := baseTarget(srv.port, dir)
	tg.StrictHostKeyChecking = "accept-new"
	tg.PasswordAuthentication = true
	var warn recorder
	a := &asker{answers: []func() (string, error){says("wrong"), says("pw")}}
	c, err := Dial(context.Background(), Config{Target: tg, Logf: t.Logf, Warnf: warn.f, Prompt: a.ask})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.Close()
	added := fmt.Sprintf("Warning: Permanently added '[127.0.0.1]:%d' (ED25519) to the list of known hosts.", srv.port)
	want := []Question{
		{Messages: []string{added}, Prompt: "bob@127.0.0.1's password: "},
		{Messages: []string{"Permission denied, please try again."}, Prompt: "bob@127.0.0.1's password: "},
	}
	if !reflect.DeepEqual(a.questions, want) {
		t.Errorf("questions %#v\nwant %#v", a.questions, want)
	}
	if warn.String() != "" {
		t.Errorf("Warnf got %q: it went with the question", warn.String())
	}
}

// TestPasswordUnanswered: an unanswered prompt is an empty password, as in ssh, with what the
// prompt printed shown in order; after NumberOfPasswordPrompts tries, ssh's failure.
func TestPasswordUnanswered(t *testing.T) {
	srv, o := passwordServer(t)
	tg := knownTarget(t, srv, o)
	const exec = "ssh_askpass: exec(/x): No such file or directory"
	un := func() (string, error) { return "", &Unanswered{Message: exec} }
	a := &asker{answers: []func() (string, error){un, un}}
	_, err := Dial(context.Background(), Config{Target: tg, Logf: t.Logf, Prompt: a.ask, Auth: AuthOptions{PasswordPrompts: 2}})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("Dial err = %v", err)
	}
	wantLines := []string{exec, "bob@127.0.0.1: Permission denied (password,publickey)."}
	if !reflect.DeepEqual(e.LogMessages(), wantLines) {
		t.Errorf("lines %q, want %q", e.LogMessages(), wantLines)
	}
	if len(a.questions) != 2 || !reflect.DeepEqual(a.questions[1].Messages, []string{exec, "Permission denied, please try again."}) {
		t.Errorf("questions %#v", a.questions)
	}
	for i := 0; i < 2; i++ {
		if pw := <-o.passwords; pw != "" {
			t.Errorf("password %d sent %q, want empty", i, pw)
		}
	}
}

// TestPasswordNotAsked: no Prompt, BatchMode, PasswordAuthentication no or a lost caller: no
// password is sent (or only the one asked), and the failure is ssh's.
func TestPasswordNotAsked(t *testing.T) {
	srv, o := passwordServer(t)
	gone := func() (string, error) { return "", errors.New("caller gone") }
	for name, c := range map[string]struct {
		tg    func(*Config)
		asked int
	}{
		"no Prompt":                 {func(c *Config) { c.Prompt = nil }, 0},
		"BatchMode":                 {func(c *Config) { c.Target.BatchMode = true }, 0},
		"PasswordAuthentication no": {func(c *Config) { c.Target.PasswordAuthentication = false }, 0},
		"PreferredAuthentications":  {func(c *Config) { c.Auth.Preferred = []string{"publickey"} }, 0},
		"NumberOfPasswordPrompts 0": {func(c *Config) { c.Auth.PasswordPrompts = -1 }, 0},
		"the caller is gone":        {func(*Config) {}, 1},
	} {
		t.Run(name, func(t *testing.T) {
			tg := knownTarget(t, srv, o)
			a := &asker{answers: []func() (string, error){gone}}
			cfg := Config{Target: tg, Logf: t.Logf, Prompt: a.ask}
			c.tg(&cfg)
			_, err := Dial(context.Background(), cfg)
			if want := "bob@127.0.0.1: Permission denied (password,publickey)."; err == nil || err.Error() != want {
				t.Errorf("Dial err = %v, want %q", err, want)
			}
			if len(a.questions) != c.asked {
				t.Errorf("asked %d times, want %d", len(a.questions), c.asked)
			}
			select {
			case pw := <-o.passwords:
				t.Errorf("password %q sent", pw)
			default:
			}
		})
	}
}

// TestPromptStopsConnectTimeout: a user who takes longer than ConnectTimeout to type still
// gets in, since ConnectTimeout bounds reaching the server.
func TestPromptStopsConnectTimeout(t *testing.T) {
	srv, o := passwordServer(t)
	tg := knownTarget(t, srv, o)
	tg.ConnectTimeout = 100 * time.Millisecond
	slow := func() (string, error) {
		<-time.After(4 * tg.ConnectTimeout) // the user typing
		return "pw", nil
	}
	a := &asker{answers: []func() (string, error){slow}}
	c, err := Dial(context.Background(), Config{Target: tg, Logf: t.Logf, Prompt: a.ask})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	c.Close()
}

// TestAuthFor reads the options as ssh does.
func TestAuthFor(t *testing.T) {
	for in, want := range map[string]AuthOptions{
		"":                          {},
		"numberofpasswordprompts=0": {PasswordPrompts: -1},
		"numberofpasswordprompts=5": {PasswordPrompts: 5},
		"preferredauthentications=password,publickey": {Preferred: []string{"password", "publickey"}},
		"pubkeyauthentication=no":                     {NoPubkey: true},
		"pubkeyauthentication=unbound":                {},
	} {
		o := map[string][]string{}
		if k, v, ok := strings.Cut(in, "="); ok {
			o[k] = []string{v}
		}
		if got := AuthFor(o); !reflect.DeepEqual(got, want) {
			t.Errorf("AuthFor(%s) = %+v, want %+v", in, got, want)
		}
	}
}
