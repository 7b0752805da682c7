package emulation

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Debian's sshd defaults (_PATH_STDPATH and SUPERUSER_PATH) for when sshd's
// environment somehow lacks PATH.
const (
	userPath = "/usr/local/bin:/usr/bin:/bin:/usr/games"
	rootPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// notFromSSHD are variables in the agent's start environment that sshd did
// not set for an exec request without a pty: the bootstrap shell adds the
// first four, and the others describe the bootstrap session itself (its pty
// or its forced command), not the sessions the agent emulates.
var notFromSSHD = map[string]bool{
	"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true,
	"TERM": true, "SSH_TTY": true, "SSH_ORIGINAL_COMMAND": true,
}

// BaseEnv turns the agent's initial environment (os.Environ() at start) into
// the environment sshd gives every session: it drops what the bootstrap
// added, malformed entries and duplicates (the first wins, as with getenv),
// and supplies sshd's default PATH if there is none.
func BaseEnv(environ []string) []string {
	out := make([]string, 0, len(environ)+1)
	seen := map[string]bool{}
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || seen[k] || notFromSSHD[k] {
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	if !seen["PATH"] {
		p := userPath
		if os.Getuid() == 0 {
			p = rootPath
		}
		out = append(out, "PATH="+p)
	}
	return out
}

// shellAdded are what the shells that ran the bootstrap add to any environment.
var shellAdded = map[string]bool{"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true}

// ContextEnv is BaseEnv for an agent started through another (sudo, su, a container runtime):
// its environment is what that command gave it, TERM included, so only what the bootstrap's
// shells added is dropped.
func ContextEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	seen := map[string]bool{}
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || seen[k] || shellAdded[k] {
			continue
		}
		seen[k] = true
		out = append(out, kv)
	}
	return out
}

// ReadEnviron returns the environment process pid was executed with, from
// /proc/PID/environ (Linux). A shell keeps that block untouched whatever its
// startup files export, so when the bootstrap shell that sshd started forks
// the agent rather than exec'ing it ("agent; exit $?", not "exec agent"),
// ReadEnviron(os.Getppid()) is sshd's environment exactly, free of what
// ~/.bashrc added (bash reads it for sshd's commands) and free of what the
// agent's own start did. The caller should check that it has SSH_CONNECTION.
func ReadEnviron(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return nil, fmt.Errorf("emulation: environ of %d: %w", pid, err)
	}
	var env []string
	for _, kv := range bytes.Split(b, []byte{0}) {
		if len(kv) > 0 {
			env = append(env, string(kv))
		}
	}
	return env, nil
}

// sessionEnv builds the environment of one session from base the way
// sshd's do_setup_env orders it: the client's variables first, then
// everything sshd sets itself, which overrides them. So a client cannot
// replace HOME, PATH, SSH_CONNECTION, ... but can add LANG when sshd's PAM
// stack did not set it.
func sessionEnv(base []string, acct account, shell string, req Request) []string {
	own := map[string]bool{}
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		own[k] = true
	}
	var sshd []string
	set := func(k, v string) {
		if !own[k] {
			own[k] = true
			sshd = append(sshd, k+"="+v)
		}
	}
	if req.Term != "" {
		set("TERM", req.Term)
	}
	// sshd always sets these; fill them in should the agent's start
	// environment lack them.
	if acct.name != "" {
		set("USER", acct.name)
		set("LOGNAME", acct.name)
	}
	if acct.dir != "" {
		set("HOME", acct.dir)
	}
	set("SHELL", shell)

	names := make([]string, 0, len(req.Env))
	for k := range req.Env {
		if !own[k] && k != "" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	env := make([]string, 0, len(names)+len(base)+len(sshd))
	for _, k := range names {
		env = append(env, k+"="+req.Env[k])
	}
	env = append(env, base...)
	return append(env, sshd...)
}

func getenv(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}
