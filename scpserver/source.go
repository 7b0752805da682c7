package scpserver

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// fileModeMask is the mode scp sends: permissions and the set-id bits.
const fileModeMask = 0o6777

// sourceTop is scp -f FILE...: it waits for the sink's go-ahead, then sends each file.
func (c *conn) sourceTop() error {
	if good, err := c.response(); err != nil || !good {
		return err
	}
	for _, name := range c.req.Paths {
		if err := c.source(name); err != nil {
			return err
		}
	}
	return nil
}

// source sends one file, or with -r one directory tree, as scp's source() does.
func (c *conn) source(name string) error {
	for len(name) > 1 && strings.HasSuffix(name, "/") {
		name = name[:len(name)-1]
	}
	f, err := os.OpenFile(c.path(name), os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		c.runErr("%s: %s", name, errText(err))
		return nil
	}
	defer f.Close()
	if strings.Contains(name, "\n") {
		c.runErr("%s: skipping, filename contains a newline", strings.ReplaceAll(name, "\n", "\\n"))
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		c.runErr("%s: %s", name, errText(err))
		return nil
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		if c.req.Recursive {
			return c.sourceDir(name, f, &st)
		}
		fallthrough
	default:
		c.runErr("%s: not a regular file", name)
		return nil
	}
	last := name[strings.LastIndexByte(name, '/')+1:]
	if c.req.Preserve {
		if good, err := c.sendTimes(&st); err != nil || !good {
			return err
		}
	}
	fmt.Fprintf(c.out, "C%04o %d %s\n", st.Mode&fileModeMask, st.Size, last)
	if err := c.out.Flush(); err != nil {
		return err
	}
	if good, err := c.response(); err != nil || !good {
		return err
	}
	haderr := c.sendData(f, st.Size)
	if haderr == nil {
		if err := c.ok(); err != nil {
			return err
		}
	} else {
		c.runErr("%s: %s", name, errText(haderr))
	}
	_, err = c.response()
	return err
}

// sendData sends exactly size bytes of f; after a read error it pads with zeros (the sink
// expects size bytes) and returns the error.
func (c *conn) sendData(f *os.File, size int64) error {
	buf := make([]byte, min(size, 256<<10))
	var haderr error
	for size > 0 {
		b := buf[:min(int64(len(buf)), size)]
		if haderr == nil {
			n, err := io.ReadFull(f, b)
			if err != nil {
				haderr = err
				if err == io.ErrUnexpectedEOF || err == io.EOF {
					haderr = fmt.Errorf("file changed size")
				}
				clear(b[n:])
			}
		} else {
			clear(b)
		}
		if _, err := c.out.Write(b); err != nil {
			return err
		}
		size -= int64(len(b))
	}
	return haderr
}

func (c *conn) sendTimes(st *unix.Stat_t) (bool, error) {
	fmt.Fprintf(c.out, "T%d 0 %d 0\n", st.Mtim.Sec, st.Atim.Sec)
	if err := c.out.Flush(); err != nil {
		return false, err
	}
	return c.response()
}

// sourceDir sends a D record, the directory's entries, then E.
func (c *conn) sourceDir(name string, d *os.File, st *unix.Stat_t) error {
	names, err := d.Readdirnames(-1)
	if err != nil {
		c.runErr("%s: %s", name, errText(err))
		return nil
	}
	if c.req.Preserve {
		if good, err := c.sendTimes(st); err != nil || !good {
			return err
		}
	}
	last := name[strings.LastIndexByte(name, '/')+1:]
	fmt.Fprintf(c.out, "D%04o %d %.1024s\n", st.Mode&fileModeMask, 0, last)
	if err := c.out.Flush(); err != nil {
		return err
	}
	if good, err := c.response(); err != nil || !good {
		return err
	}
	for _, n := range names {
		if err := c.source(name + "/" + n); err != nil {
			return err
		}
	}
	if _, err := c.out.WriteString("E\n"); err != nil {
		return err
	}
	if err := c.out.Flush(); err != nil {
		return err
	}
	_, err = c.response()
	return err
}
