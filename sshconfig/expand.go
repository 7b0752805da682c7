package sshconfig

import (
	"errors"
	"fmt"
	"net"
	"os/user"
	"strings"
)

// percentExpand replaces %x tokens from vals; "%%" is a literal '%'. An
// unknown token is an error, as ssh's percent_expand is fatal on one.
func percentExpand(s string, vals map[byte]string) (string, error) {
	return expandTokens(s, vals, true)
}

// expandTokens is percentExpand; when strict is false an unknown token or a
// trailing '%' is kept as written instead of failing, for Dump, which prints
// what the daemon refuses later, when it connects.
func expandTokens(s string, vals map[byte]string, strict bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			if strict {
				return "", errors.New("percent_expand: invalid format")
			}
			b.WriteByte('%')
			continue
		}
		v, ok := vals[s[i+1]]
		if s[i+1] == '%' {
			v, ok = "%", true
		}
		if !ok {
			if strict {
				return "", fmt.Errorf("percent_expand: unknown key %%%c", s[i+1])
			}
			b.WriteByte('%') // the next byte follows as itself
			continue
		}
		b.WriteString(v)
		i++
	}
	return b.String(), nil
}

// tildeExpand expands a leading "~" or "~/" to home and "~user/" to that
// user's home directory.
func tildeExpand(path, home string) (string, error) {
	if !strings.HasPrefix(path, "~") {
		return path, nil
	}
	name, rest, _ := strings.Cut(path[1:], "/")
	dir := home
	if name != "" {
		u, err := user.Lookup(name)
		if err != nil {
			return "", fmt.Errorf("tilde_expand_filename: No such user %s", name)
		}
		dir = u.HomeDir
	}
	if rest == "" && !strings.Contains(path, "/") {
		return dir, nil
	}
	return strings.TrimSuffix(dir, "/") + "/" + rest, nil
}

// lowerHost lowercases a host name but leaves addresses alone, as ssh.c
// does before using it: ssh -G SSH://h and A:b keep their case.
func lowerHost(h string) string {
	if net.ParseIP(h) != nil || strings.Contains(h, ":") {
		return h
	}
	return strings.ToLower(h)
}
