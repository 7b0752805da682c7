package sftpserver

import "golang.org/x/sys/unix"

// Attribute flags of SFTP version 3.
const (
	attrSize        = 0x00000001
	attrUIDGID      = 0x00000002
	attrPermissions = 0x00000004
	attrACModTime   = 0x00000008
	attrExtended    = 0x80000000
)

// attrs is an ATTRS structure; flags says which fields are present.
type attrs struct {
	flags        uint32
	size         uint64
	uid, gid     uint32
	perm         uint32
	atime, mtime uint32
}

// attrsOf reports everything a stat knows, as sftp-server does; perm keeps the file type bits,
// which clients use to tell directories and links from files.
func attrsOf(st *unix.Stat_t) attrs {
	return attrs{
		flags: attrSize | attrUIDGID | attrPermissions | attrACModTime,
		size:  uint64(st.Size),
		uid:   st.Uid,
		gid:   st.Gid,
		perm:  st.Mode,
		atime: uint32(st.Atim.Sec),
		mtime: uint32(st.Mtim.Sec),
	}
}

func (d *decoder) attrs() attrs {
	var a attrs
	a.flags = d.uint32()
	if a.flags&attrSize != 0 {
		a.size = d.uint64()
	}
	if a.flags&attrUIDGID != 0 {
		a.uid, a.gid = d.uint32(), d.uint32()
	}
	if a.flags&attrPermissions != 0 {
		a.perm = d.uint32()
	}
	if a.flags&attrACModTime != 0 {
		a.atime, a.mtime = d.uint32(), d.uint32()
	}
	if a.flags&attrExtended != 0 {
		// Extended attributes have no meaning here; skip them. Each pair takes at least eight
		// bytes, so a huge count ends at the packet's end.
		for n := d.uint32(); n > 0 && d.err == nil; n-- {
			d.bytes()
			d.bytes()
		}
	}
	return a
}

func appendAttrs(b []byte, a attrs) []byte {
	b = appendUint32(b, a.flags&^attrExtended)
	if a.flags&attrSize != 0 {
		b = appendUint64(b, a.size)
	}
	if a.flags&attrUIDGID != 0 {
		b = appendUint32(appendUint32(b, a.uid), a.gid)
	}
	if a.flags&attrPermissions != 0 {
		b = appendUint32(b, a.perm)
	}
	if a.flags&attrACModTime != 0 {
		b = appendUint32(appendUint32(b, a.atime), a.mtime)
	}
	return b
}

// setter applies attributes to a path or an open file.
type setter struct {
	truncate func(size int64) error
	chmod    func(mode uint32) error
	utimes   func(ts []unix.Timespec) error
	chown    func(uid, gid int) error
}

func pathSetter(p string) setter {
	return setter{
		truncate: func(size int64) error { return unix.Truncate(p, size) },
		chmod:    func(mode uint32) error { return unix.Chmod(p, mode) },
		utimes:   func(ts []unix.Timespec) error { return unix.UtimesNano(p, ts) },
		chown:    func(uid, gid int) error { return unix.Chown(p, uid, gid) },
	}
}

func fdSetter(fd int) setter {
	return setter{
		truncate: func(size int64) error { return unix.Ftruncate(fd, size) },
		chmod:    func(mode uint32) error { return unix.Fchmod(fd, mode) },
		utimes:   func(ts []unix.Timespec) error { return futimens(fd, ts) },
		chown:    func(uid, gid int) error { return unix.Fchown(fd, uid, gid) },
	}
}

// apply sets the attributes present in a in sftp-server's order (size, mode, times, owner),
// trying each even after a failure; the last failure is the result, as in sftp-server.
func (st setter) apply(a attrs) error {
	var last error
	keep := func(err error) {
		if err != nil {
			last = err
		}
	}
	if a.flags&attrSize != 0 {
		keep(st.truncate(int64(a.size)))
	}
	if a.flags&attrPermissions != 0 {
		keep(st.chmod(a.perm & 0o7777))
	}
	if a.flags&attrACModTime != 0 {
		keep(st.utimes([]unix.Timespec{{Sec: int64(a.atime)}, {Sec: int64(a.mtime)}}))
	}
	if a.flags&attrUIDGID != 0 {
		keep(st.chown(int(a.uid), int(a.gid)))
	}
	return last
}
