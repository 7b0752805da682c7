package sftpserver

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// futimens sets an open file's times; utimensat with a NULL path is how glibc does it, and
// needs no /proc.
func futimens(fd int, ts []unix.Timespec) error {
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// statvfs is what statvfs(3) reports, in the order of the statvfs@openssh.com reply.
type statvfs struct {
	bsize, frsize, blocks, bfree, bavail, files, ffree, favail, fsid, flag, namemax uint64
}

// Flags of the statvfs@openssh.com reply.
const (
	statvfsReadOnly = 0x1
	statvfsNoSUID   = 0x2
)

func statfsToVFS(st *unix.Statfs_t) statvfs {
	frsize := uint64(st.Frsize)
	if frsize == 0 {
		frsize = uint64(st.Bsize)
	}
	var flag uint64
	if st.Flags&unix.ST_RDONLY != 0 {
		flag |= statvfsReadOnly
	}
	if st.Flags&unix.ST_NOSUID != 0 {
		flag |= statvfsNoSUID
	}
	return statvfs{
		bsize: uint64(st.Bsize), frsize: frsize, blocks: st.Blocks, bfree: st.Bfree, bavail: st.Bavail,
		files: st.Files, ffree: st.Ffree, favail: st.Ffree,
		fsid:    uint64(uint32(st.Fsid.Val[0])) | uint64(uint32(st.Fsid.Val[1]))<<32,
		flag:    flag,
		namemax: uint64(st.Namelen),
	}
}

func statvfsPath(p string) (statvfs, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return statvfs{}, err
	}
	return statfsToVFS(&st), nil
}

func statvfsFD(fd int) (statvfs, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return statvfs{}, err
	}
	return statfsToVFS(&st), nil
}
