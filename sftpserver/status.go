package sftpserver

import (
	"errors"
	"io/fs"
	"syscall"
)

// statusOf maps an error to a status code as sftp-server's errno_to_portable does.
func statusOf(err error) uint32 {
	if err == nil {
		return fxOK
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case 0:
			return fxOK
		case syscall.ENOENT, syscall.ENOTDIR, syscall.EBADF, syscall.ELOOP:
			return fxNoSuchFile
		case syscall.EPERM, syscall.EACCES, syscall.EFAULT:
			return fxPermissionDenied
		case syscall.ENAMETOOLONG, syscall.EINVAL:
			return fxBadMessage
		case syscall.ENOSYS:
			return fxOpUnsupported
		}
		return fxFailure
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fxNoSuchFile
	case errors.Is(err, fs.ErrPermission):
		return fxPermissionDenied
	}
	return fxFailure
}

// statusMessage is sftp-server's text for each code; clients mostly print their own.
func statusMessage(code uint32) string {
	switch code {
	case fxOK:
		return "Success"
	case fxEOF:
		return "End of file"
	case fxNoSuchFile:
		return "No such file"
	case fxPermissionDenied:
		return "Permission denied"
	case fxFailure:
		return "Failure"
	case fxBadMessage:
		return "Bad message"
	case fxOpUnsupported:
		return "Operation unsupported"
	}
	return "Unknown error"
}
