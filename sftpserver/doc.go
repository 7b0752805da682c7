// Package sftpserver is a minimal SFTP version 3 server (draft-ietf-secsh-filexfer-02) that
// behaves like OpenSSH's sftp-server: the same requests, the same OpenSSH 9.2 extensions
// (posix-rename, statvfs, fstatvfs, hardlink, fsync, lsetstat, limits, expand-path, copy-data,
// home-directory, users-groups-by-id; compared reply by reply with sftp-server), the same
// errno-to-status mapping and the same `ls -l` long names, so that scp (SFTP mode) and sftp work
// against a target that has no sftp-server.
//
// Unlike sftp-server, an open that replaces a file's content writes to a hidden temporary file
// that takes the file's place on CLOSE (package internal/atomicfile): readers see the old file or
// the new one, and a session that dies leaves the old one (see atomic.go for where it writes in
// place instead).
//
// It serves one session on a reader/writer pair (a subsystem's stdin and stdout) and processes
// requests one at a time, in order. It only uses the standard library and golang.org/x/sys, so
// it stays small enough for the agent; it does NOT do SSH, authentication, chroot, access
// control beyond the process's own permissions, or SFTP versions other than 3, and it is
// Linux only, like the agent.
package sftpserver
