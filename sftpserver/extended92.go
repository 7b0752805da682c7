package sftpserver

import (
	"os/user"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The extensions OpenSSH 9.2's sftp-server added after the first six, each as sftp-server.c
// does it.

// lsetstat is setstat without following a final symlink. A size makes no sense for a link:
// SSH2_FX_BAD_MESSAGE. Linux cannot chmod a symlink itself (glibc's fchmodat fails with
// EOPNOTSUPP, a plain failure), and a path that is no symlink gets its mode as with setstat.
func (s *server) lsetstat(id uint32, d *decoder) error {
	name, a := d.string(), d.attrs()
	if d.err != nil {
		return d.err
	}
	if a.flags&attrSize != 0 {
		s.sendCode(id, fxBadMessage)
		return nil
	}
	p := s.path(name)
	st := setter{
		chmod: func(mode uint32) error {
			var lst unix.Stat_t
			if err := unix.Lstat(p, &lst); err != nil {
				return err
			}
			if lst.Mode&unix.S_IFMT == unix.S_IFLNK {
				return unix.EOPNOTSUPP
			}
			return unix.Chmod(p, mode)
		},
		utimes: func(ts []unix.Timespec) error {
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
		},
		chown: func(uid, gid int) error { return unix.Lchown(p, uid, gid) },
	}
	s.sendStatus(id, st.apply(a))
	return nil
}

// expandPath is realpath after sftp-server's tilde expansion: "~" and "~/rest" are relative
// to the session's directory (the user's home), "~user/rest" to that user's home.
func (s *server) expandPath(id uint32, d *decoder) error {
	name := d.string()
	if d.err != nil {
		return d.err
	}
	switch {
	case name == "~":
		name = "."
	case strings.HasPrefix(name, "~/"):
		name = name[2:]
	case strings.HasPrefix(name, "~"):
		who, rest, _ := strings.Cut(name[1:], "/")
		u, err := user.Lookup(who)
		if err != nil {
			s.sendCodeMsg(id, fxNoSuchFile, "no such user")
			return nil
		}
		name = strings.TrimSuffix(u.HomeDir, "/") + "/" + rest
	}
	p, err := s.canonical(name)
	if err != nil {
		s.sendStatus(id, err)
		return nil
	}
	s.sendName(id, p)
	return nil
}

// copyData copies length bytes (0: to the end) from one open file to another, server-side,
// as the client's "cp" asks. The two handles must differ.
func (s *server) copyData(id uint32, d *decoder) error {
	rh, roff, length, wh, woff := d.bytes(), d.uint64(), d.uint64(), d.bytes(), d.uint64()
	if d.err != nil {
		return d.err
	}
	src, dst := s.handles.file(rh), s.handles.file(wh)
	if src == nil || dst == nil || src == dst {
		s.sendCode(id, fxFailure)
		return nil
	}
	if cap(s.data) < maxRead {
		s.data = make([]byte, maxRead)
	}
	buf := s.data[:maxRead]
	toEOF := length == 0
	for toEOF || length > 0 {
		n := len(buf)
		if !toEOF {
			n = int(min(uint64(n), length))
		}
		var got int
		err := retry(func() (err error) {
			got, err = unix.Pread(src.fd, buf[:n], int64(roff))
			return err
		})
		if err != nil {
			s.sendStatus(id, err)
			return nil
		}
		if got == 0 {
			break
		}
		if err := dst.pwriteAll(buf[:got], woff); err != nil {
			s.sendStatus(id, err)
			return nil
		}
		roff, woff = roff+uint64(got), woff+uint64(got)
		if !toEOF {
			length -= uint64(got)
		}
	}
	s.sendCode(id, fxOK)
	return nil
}

// homeDirectory names a user's home directory; an unknown user is a plain failure.
func (s *server) homeDirectory(id uint32, d *decoder) error {
	name := d.string()
	if d.err != nil {
		return d.err
	}
	u, err := user.Lookup(name)
	if err != nil {
		s.sendCode(id, fxFailure)
		return nil
	}
	s.sendName(id, u.HomeDir)
	return nil
}

// usersGroupsByID maps the uids and gids the client lists to names, "" for an unknown one:
// the reply holds two strings, each a run of strings.
func (s *server) usersGroupsByID(id uint32, d *decoder) error {
	uids, gids := d.bytes(), d.bytes()
	if d.err != nil {
		return d.err
	}
	names := func(ids []byte, lookup func(string) (string, error)) ([]byte, bool) {
		if len(ids)%4 != 0 {
			return nil, false
		}
		var out []byte
		sub := &decoder{b: ids}
		for len(sub.b) > 0 {
			n, err := lookup(strconv.FormatUint(uint64(sub.uint32()), 10))
			if err != nil {
				n = ""
			}
			out = appendString(out, n)
		}
		return out, true
	}
	users, ok1 := names(uids, func(id string) (string, error) {
		u, err := user.LookupId(id)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
	groups, ok2 := names(gids, func(id string) (string, error) {
		g, err := user.LookupGroupId(id)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
	if !ok1 || !ok2 {
		return badPacket("users-groups-by-id: id lists of %d and %d bytes", len(uids), len(gids))
	}
	s.begin(fxpExtendedReply, id)
	s.out = appendBytes(s.out, users)
	s.out = appendBytes(s.out, groups)
	return nil
}
