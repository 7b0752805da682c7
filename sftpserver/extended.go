package sftpserver

import "golang.org/x/sys/unix"

// extensions are the OpenSSH extensions served, with the versions sftp-server announces.
var extensions = []struct{ name, version string }{
	{"posix-rename@openssh.com", "1"},
	{"statvfs@openssh.com", "2"},
	{"fstatvfs@openssh.com", "2"},
	{"hardlink@openssh.com", "1"},
	{"fsync@openssh.com", "1"},
	{"lsetstat@openssh.com", "1"},
	{"limits@openssh.com", "1"},
	{"expand-path@openssh.com", "1"},
	{"copy-data", "1"},
	{"home-directory", "1"},
	{"users-groups-by-id@openssh.com", "1"},
}

func (s *server) sendVersion() {
	s.begin(fxpVersion, 3) // VERSION carries the version where other replies carry an id
	for _, e := range extensions {
		s.out = appendString(appendString(s.out, e.name), e.version)
	}
}

func (s *server) extended(id uint32, d *decoder) error {
	name := d.string()
	if d.err != nil {
		return d.err
	}
	switch name {
	case "posix-rename@openssh.com":
		return s.twoPaths(id, d, s.path, unix.Rename)
	case "hardlink@openssh.com":
		return s.twoPaths(id, d, s.path, unix.Link)
	case "statvfs@openssh.com":
		return s.statvfs(id, d)
	case "fstatvfs@openssh.com":
		return s.fstatvfs(id, d)
	case "fsync@openssh.com":
		return s.fsync(id, d)
	case "limits@openssh.com":
		s.sendLimits(id)
		return nil
	case "lsetstat@openssh.com":
		return s.lsetstat(id, d)
	case "expand-path@openssh.com":
		return s.expandPath(id, d)
	case "copy-data":
		return s.copyData(id, d)
	case "home-directory":
		return s.homeDirectory(id, d)
	case "users-groups-by-id@openssh.com":
		return s.usersGroupsByID(id, d)
	}
	s.sendCode(id, fxOpUnsupported)
	return nil
}

func (s *server) statvfs(id uint32, d *decoder) error {
	name := d.string()
	if d.err != nil {
		return d.err
	}
	st, err := statvfsPath(s.path(name))
	s.sendStatvfs(id, st, err)
	return nil
}

func (s *server) fstatvfs(id uint32, d *decoder) error {
	hs := d.bytes()
	if d.err != nil {
		return d.err
	}
	h := s.fileOrFail(id, hs)
	if h == nil {
		return nil
	}
	st, err := statvfsFD(h.fd)
	s.sendStatvfs(id, st, err)
	return nil
}

func (s *server) sendStatvfs(id uint32, st statvfs, err error) {
	if err != nil {
		s.sendStatus(id, err)
		return
	}
	s.begin(fxpExtendedReply, id)
	for _, v := range []uint64{st.bsize, st.frsize, st.blocks, st.bfree, st.bavail, st.files,
		st.ffree, st.favail, st.fsid, st.flag, st.namemax} {
		s.out = appendUint64(s.out, v)
	}
}

func (s *server) fsync(id uint32, d *decoder) error {
	hs := d.bytes()
	if d.err != nil {
		return d.err
	}
	h := s.fileOrFail(id, hs)
	if h == nil {
		return nil
	}
	s.sendStatus(id, unix.Fsync(h.fd))
	return nil
}

// sendLimits tells the client the packet and handle bounds, so that OpenSSH's sftp and scp
// size their reads and writes to them instead of to 32 KiB.
func (s *server) sendLimits(id uint32) {
	s.begin(fxpExtendedReply, id)
	s.out = appendUint64(s.out, MaxPacket)
	s.out = appendUint64(s.out, maxRead)
	s.out = appendUint64(s.out, maxRead)
	s.out = appendUint64(s.out, uint64(s.handles.max))
}
