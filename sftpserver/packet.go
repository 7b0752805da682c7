package sftpserver

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Packet types of SFTP version 3.
const (
	fxpInit          = 1
	fxpVersion       = 2
	fxpOpen          = 3
	fxpClose         = 4
	fxpRead          = 5
	fxpWrite         = 6
	fxpLstat         = 7
	fxpFstat         = 8
	fxpSetstat       = 9
	fxpFsetstat      = 10
	fxpOpendir       = 11
	fxpReaddir       = 12
	fxpRemove        = 13
	fxpMkdir         = 14
	fxpRmdir         = 15
	fxpRealpath      = 16
	fxpStat          = 17
	fxpRename        = 18
	fxpReadlink      = 19
	fxpSymlink       = 20
	fxpStatus        = 101
	fxpHandle        = 102
	fxpData          = 103
	fxpName          = 104
	fxpAttrs         = 105
	fxpExtended      = 200
	fxpExtendedReply = 201
)

// Status codes of SFTP version 3.
const (
	fxOK               = 0
	fxEOF              = 1
	fxNoSuchFile       = 2
	fxPermissionDenied = 3
	fxFailure          = 4
	fxBadMessage       = 5
	fxOpUnsupported    = 8
)

// Open flags (pflags) of SFTP version 3.
const (
	fxfRead   = 0x01
	fxfWrite  = 0x02
	fxfAppend = 0x04
	fxfCreat  = 0x08
	fxfTrunc  = 0x10
	fxfExcl   = 0x20
)

const (
	// MaxPacket is the largest packet accepted or sent, as OpenSSH's SFTP_MAX_MSG_LENGTH.
	MaxPacket = 256 * 1024
	// maxRead bounds a READ's data so that its DATA reply fits in MaxPacket.
	maxRead = MaxPacket - 1024
)

// ErrBadPacket is wrapped by the error Serve returns when the client sends a packet that is not
// SFTP version 3: too long, truncated fields, or a protocol violation. OpenSSH's sftp-server
// ends the session the same way.
var ErrBadPacket = errors.New("sftpserver: bad packet")

func badPacket(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadPacket, fmt.Sprintf(format, args...))
}

// decoder reads the fields of one packet; the first short read sticks in err and later reads
// return zero values, so a handler decodes everything and then checks err once.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uint32() uint32 {
	if len(d.b) < 4 {
		d.short()
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.short()
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) string() string {
	n := d.uint32()
	if d.err != nil || uint64(n) > uint64(len(d.b)) {
		d.short()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// bytes is string without the copy; the result aliases the packet buffer.
func (d *decoder) bytes() []byte {
	n := d.uint32()
	if d.err != nil || uint64(n) > uint64(len(d.b)) {
		d.short()
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) short() {
	if d.err == nil {
		d.err = badPacket("truncated field")
	}
	d.b = nil
}

// The append helpers build replies in the wire encoding.

func appendUint32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

func appendUint64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func appendString(b []byte, s string) []byte {
	return append(appendUint32(b, uint32(len(s))), s...)
}

func appendBytes(b []byte, s []byte) []byte {
	return append(appendUint32(b, uint32(len(s))), s...)
}
