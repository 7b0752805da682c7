package sftpserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// readdirBatch is how many names a READDIR reply holds at most, as in sftp-server; with names
// of at most 255 bytes a reply stays far below MaxPacket.
const readdirBatch = 100

func (s *server) opendir(id uint32, d *decoder) error {
	name := d.string()
	if d.err != nil {
		return d.err
	}
	p := s.path(name)
	var fd int
	err := retry(func() (err error) {
		fd, err = unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		s.sendStatus(id, err)
		return nil
	}
	s.addHandle(id, &handle{fd: -1, dir: os.NewFile(uintptr(fd), p), path: p})
	return nil
}

type dirent struct {
	name string
	st   unix.Stat_t
}

func (s *server) readdir(id uint32, d *decoder) error {
	hs := d.bytes()
	if d.err != nil {
		return d.err
	}
	h := s.handles.directory(hs)
	if h == nil {
		s.sendCode(id, fxFailure)
		return nil
	}
	ents, err := h.next()
	switch {
	case len(ents) > 0:
		s.sendNames(id, ents)
	case err == nil || errors.Is(err, io.EOF):
		s.sendCode(id, fxEOF)
	default:
		s.sendStatus(id, err)
	}
	return nil
}

// next returns the next batch of entries with their lstat, "." and ".." first as readdir(3)
// gives them. Entries that vanish before their lstat are skipped, as sftp-server does.
func (h *handle) next() ([]dirent, error) {
	var names []string
	if !h.dots {
		h.dots = true
		names = append(names, ".", "..")
	}
	var ents []dirent
	for len(ents) == 0 {
		more, err := h.dir.Readdirnames(readdirBatch - len(names))
		names = append(names, more...)
		for _, n := range names {
			var e dirent
			if unix.Lstat(h.path+"/"+n, &e.st) == nil {
				e.name = n
				ents = append(ents, e)
			}
		}
		names = nil
		if err != nil {
			return ents, err
		}
	}
	return ents, nil
}

func (s *server) sendNames(id uint32, ents []dirent) {
	s.begin(fxpName, id)
	s.out = appendUint32(s.out, uint32(len(ents)))
	now := time.Now()
	for i := range ents {
		e := &ents[i]
		s.out = appendString(s.out, e.name)
		s.out = appendString(s.out, longname(e.name, &e.st, now, s.names.user(e.st.Uid), s.names.group(e.st.Gid)))
		s.out = appendAttrs(s.out, attrsOf(&e.st))
	}
}

// longname formats an entry as sftp-server's ls_file does, which clients show for `ls -l`.
func longname(name string, st *unix.Stat_t, now time.Time, owner, group string) string {
	mtime := time.Unix(st.Mtim.Sec, 0)
	layout := "Jan _2  2006"
	if sec := now.Unix(); sec-365*24*60*60/2 < st.Mtim.Sec && sec >= st.Mtim.Sec {
		layout = "Jan _2 15:04"
	}
	return fmt.Sprintf("%s %3d %-*s %-*s %8d %s %s", strmode(st.Mode), st.Nlink,
		max(len(owner), 8), owner, max(len(group), 8), group, st.Size, mtime.Format(layout), name)
}

// strmode is BSD strmode(3): the type letter, nine permission letters, and a space.
func strmode(mode uint32) string {
	b := []byte("?rwxrwxrwx ")
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		b[0] = 'd'
	case unix.S_IFCHR:
		b[0] = 'c'
	case unix.S_IFBLK:
		b[0] = 'b'
	case unix.S_IFREG:
		b[0] = '-'
	case unix.S_IFLNK:
		b[0] = 'l'
	case unix.S_IFSOCK:
		b[0] = 's'
	case unix.S_IFIFO:
		b[0] = 'p'
	}
	for i := 0; i < 9; i++ {
		if mode&(1<<(8-i)) == 0 {
			b[1+i] = '-'
		}
	}
	special := func(pos int, bit uint32, set, unsetX byte) {
		if mode&bit == 0 {
			return
		}
		if b[pos] == 'x' {
			b[pos] = set
		} else {
			b[pos] = unsetX
		}
	}
	special(3, unix.S_ISUID, 's', 'S')
	special(6, unix.S_ISGID, 's', 'S')
	special(9, unix.S_ISVTX, 't', 'T')
	return string(b)
}

// nameCache remembers user and group names for a session; a directory listing asks for the
// same few ids over and over, and each lookup reads /etc/passwd or /etc/group.
type nameCache struct {
	users, groups map[uint32]string
}

func newNameCache() *nameCache {
	return &nameCache{users: map[uint32]string{}, groups: map[uint32]string{}}
}

func (c *nameCache) user(uid uint32) string {
	return cached(c.users, uid, func(id string) (string, error) {
		u, err := user.LookupId(id)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
}

func (c *nameCache) group(gid uint32) string {
	return cached(c.groups, gid, func(id string) (string, error) {
		g, err := user.LookupGroupId(id)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
}

// cached looks id up once; an unknown id shows as its number, as in ls.
func cached(m map[uint32]string, id uint32, lookup func(string) (string, error)) string {
	if n, ok := m[id]; ok {
		return n
	}
	n, err := lookup(strconv.FormatUint(uint64(id), 10))
	if err != nil || n == "" {
		n = strconv.FormatUint(uint64(id), 10)
	}
	m[id] = n
	return n
}
