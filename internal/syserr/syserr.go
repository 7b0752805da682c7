// Package syserr spells Go errors the way OpenSSH's messages spell them: with the C library's
// strerror and gai_strerror texts, which callers such as Ansible match. It is only wording; it
// classifies nothing.
package syserr

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
)

// Text is err as C would print it: strerror(errno) for an errno anywhere in err's chain (Go's
// errno texts are glibc's, uncapitalised), gai_strerror for a failed name lookup, ETIMEDOUT's
// text for a timeout, ENOENT's and EACCES's for Go's own not-exist and permission errors, and
// err's own text otherwise.
func Text(err error) string {
	var errno syscall.Errno
	var dnsErr *net.DNSError
	var timeout interface{ Timeout() bool }
	switch {
	case errors.As(err, &errno):
		return capitalize(errno.Error())
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "Name or service not known"
		}
		return "Temporary failure in name resolution"
	case errors.As(err, &timeout) && timeout.Timeout():
		return "Connection timed out"
	case errors.Is(err, os.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, os.ErrPermission):
		return "Permission denied"
	}
	return err.Error()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
