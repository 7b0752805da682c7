//go:build unix

package sshdial

import (
	"io/fs"
	"syscall"
)

// devIno is the file's device and inode, so that a file replaced by
// rename is noticed even when its size and mtime look the same.
func devIno(fi fs.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino)
	}
	return 0, 0
}
