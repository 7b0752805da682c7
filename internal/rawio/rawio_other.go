//go:build !linux

package rawio

import "syscall"

// Conn is not built on this system: New returns nil.
type Conn struct{}

func New(any) *Conn                           { return nil }
func (*Conn) Read(p []byte) (int, error)      { return 0, syscall.ENOSYS }
func (*Conn) Write(p []byte) (int, error)     { return 0, syscall.ENOSYS }
func WritevNoWait(int, [][]byte) (int, error) { return 0, syscall.ENOSYS }
func Refused(err error) bool                  { return err == syscall.ENOSYS }
