package syserr

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{syscall.ECONNREFUSED, "Connection refused"},
		{&os.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}, "No such file or directory"},
		{fmt.Errorf("wrapped: %w", syscall.EACCES), "Permission denied"},
		{&net.DNSError{Err: "no such host", Name: "h", IsNotFound: true}, "Name or service not known"},
		{&net.DNSError{Err: "server misbehaving", Name: "h"}, "Temporary failure in name resolution"},
		{os.ErrDeadlineExceeded, "Connection timed out"},
		{fs.ErrNotExist, "No such file or directory"},
		{fs.ErrPermission, "Permission denied"},
		{errors.New("something else"), "something else"},
	}
	for _, tt := range tests {
		if got := Text(tt.err); got != tt.want {
			t.Errorf("Text(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
