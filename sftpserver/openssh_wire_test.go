package sftpserver

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mitogen-go/mitogend/test/testenv"
)

// wireClient speaks raw SFTP to a server process.
type wireClient struct {
	t   *testing.T
	in  io.WriteCloser
	out io.Reader
}

func startWire(t *testing.T, dir string, argv []string, env ...string) *wireClient {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = append(os.Environ(), env...), dir
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	return &wireClient{t: t, in: in, out: out}
}

// call sends one packet (type, then the body) and returns the reply's body after its type.
func (c *wireClient) call(typ byte, body []byte) (byte, []byte) {
	c.t.Helper()
	pkt := binary.BigEndian.AppendUint32(nil, uint32(len(body)+1))
	pkt = append(append(pkt, typ), body...)
	if _, err := c.in.Write(pkt); err != nil {
		c.t.Fatal(err)
	}
	var hdr [5]byte
	if _, err := io.ReadFull(c.out, hdr[:]); err != nil {
		c.t.Fatal(err)
	}
	reply := make([]byte, binary.BigEndian.Uint32(hdr[:4])-1)
	if _, err := io.ReadFull(c.out, reply); err != nil {
		c.t.Fatal(err)
	}
	return hdr[4], reply
}

func ids(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

// TestExtensionRepliesAsOpenSSH sends the same packets to OpenSSH 9.2's sftp-server and to Serve,
// each in its own copy of a tree, and requires the same reply bytes (the directories' names
// replaced): INIT's extension list, expand-path, home-directory, users-groups-by-id, and
// lsetstat's refusals.
func TestExtensionRepliesAsOpenSSH(t *testing.T) {
	const real = "/usr/lib/openssh/sftp-server"
	testenv.NeedTool(t, "sftp")
	if _, err := os.Stat(real); err != nil {
		testenv.Skip(t, "no %s: %v", real, err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	realDir, ourDir := filepath.Join(base, "real"), filepath.Join(base, "ours")
	extTree(t, realDir)
	extTree(t, ourDir)
	servers := []struct {
		dir string
		c   *wireClient
	}{
		{realDir, startWire(t, realDir, []string{real, "-d", realDir})},
		{ourDir, startWire(t, ourDir, []string{self}, serveEnv+"="+ourDir)},
	}
	ext := func(id uint32, name string, fields ...[]byte) []byte {
		b := appendString(binary.BigEndian.AppendUint32(nil, id), name)
		for _, f := range fields {
			b = append(b, f...)
		}
		return b
	}
	str := func(s string) []byte { return appendString(nil, s) }
	packets := []struct {
		name string
		typ  byte
		body []byte
	}{
		{"init", fxpInit, ids(3)},
		{"expand ~", fxpExtended, ext(1, "expand-path@openssh.com", str("~"))},
		{"expand ~/sub", fxpExtended, ext(2, "expand-path@openssh.com", str("~/sub"))},
		{"expand ~root", fxpExtended, ext(3, "expand-path@openssh.com", str("~root"))},
		{"expand ~nosuchuser", fxpExtended, ext(4, "expand-path@openssh.com", str("~nosuchuser-mg/x"))},
		{"expand relative", fxpExtended, ext(5, "expand-path@openssh.com", str("sub/../a"))},
		{"expand empty", fxpExtended, ext(6, "expand-path@openssh.com", str(""))},
		{"home root", fxpExtended, ext(7, "home-directory", str("root"))},
		{"home unknown", fxpExtended, ext(8, "home-directory", str("nosuchuser-mg"))},
		{"ids", fxpExtended, ext(9, "users-groups-by-id@openssh.com", appendBytes(nil, ids(0, 4000000000)), appendBytes(nil, ids(0, 4000000000)))},
		{"lsetstat size", fxpExtended, ext(10, "lsetstat@openssh.com", str("a"), ids(attrSize, 0, 0))},
		{"lsetstat symlink mode", fxpExtended, ext(11, "lsetstat@openssh.com", str("lnk"), ids(attrPermissions, 0o600))},
		{"lsetstat file mode", fxpExtended, ext(12, "lsetstat@openssh.com", str("a"), ids(attrPermissions, 0o640))},
		{"lsetstat missing", fxpExtended, ext(13, "lsetstat@openssh.com", str("nothere"), ids(attrPermissions, 0o640))},
	}
	for _, p := range packets {
		var replies [2][]byte
		for i, s := range servers {
			typ, body := s.c.call(p.typ, p.body)
			replies[i] = append([]byte{typ}, bytes.ReplaceAll(body, []byte(s.dir), []byte("HOME"))...)
		}
		if !bytes.Equal(replies[0], replies[1]) {
			t.Errorf("%s:\nsftp-server %q\nServe       %q", p.name, replies[0], replies[1])
		}
	}
}
