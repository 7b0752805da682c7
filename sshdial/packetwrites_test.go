package sshdial

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
)

// writeCounter counts the Write calls on a connection: each is one write(2) on a real socket.
type writeCounter struct {
	net.Conn
	writes atomic.Int64
}

func (c *writeCounter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestOneWritePerPacket checks the patches to the vendored x/crypto's packets (third_party,
// PATCHES.md). Each packet of channel data goes to the connection in one Write, for every
// cipher family: upstream wrote the length apart (GCM) or in four pieces (CTR), and through
// the transport's 4 KiB buffer a full packet cost two or three write(2)s and as many TCP
// segments. And what the server reads is what was sent: a GCM packet is read into a buffer of
// its own and kept without a copy, so a buffer used twice would garble the data the channel
// holds before it is read.
func TestOneWritePerPacket(t *testing.T) {
	for _, tc := range []struct{ cipher, mac string }{
		{ssh.CipherAES128GCM, ""},
		{ssh.CipherChaCha20Poly1305, ""},
		{ssh.CipherAES128CTR, ssh.HMACSHA256ETM},
		{ssh.CipherAES128CTR, ssh.HMACSHA256},
	} {
		t.Run(tc.cipher+" "+tc.mac, func(t *testing.T) {
			const size = 2 << 20
			writes := sendThrough(t, tc.cipher, tc.mac, size, 0)
			// Data goes in packets of the server's maximum (32 KiB) less the message header.
			packets := int64(size/(32<<10-9) + 1)
			if writes > packets+2 {
				t.Errorf("%d writes for %d packets of channel data", writes, packets)
			}
		})
	}
}

// TestRekeyMidWrite: a channel's Write goes on whole while the keys change under it every
// 64 KiB, the packets held back during each exchange included (each cipher family writes a
// packet in its own way: GCM from its two parts, the others joined).
func TestRekeyMidWrite(t *testing.T) {
	for _, cipher := range []string{ssh.CipherAES128GCM, ssh.CipherChaCha20Poly1305, ssh.CipherAES128CTR} {
		t.Run(cipher, func(t *testing.T) {
			sendThrough(t, cipher, "", 4<<20, 64<<10)
		})
	}
}

// sendThrough sends size bytes on a session channel to an in-process server with cipher and
// mac, the client's keys changing every rekey bytes unless it is 0, and returns the client
// connection's Write calls while it did. It fails unless the server read the bytes sent.
func sendThrough(t *testing.T, cipher, mac string, size int, rekey uint64) int64 {
	ln, signer := listenInProcess(t)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i % 251)
	}
	got := make(chan [sha256.Size]byte, 1)
	go serveHash(ln, signer, got)

	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn := &writeCounter{Conn: raw}
	cfg := &ssh.ClientConfig{User: "u", HostKeyCallback: ssh.FixedHostKey(signer.PublicKey())}
	cfg.Ciphers = []string{cipher}
	cfg.RekeyThreshold = rekey
	if mac != "" {
		cfg.MACs = []string{mac}
	}
	ch := openSession(t, conn, cfg)
	before := conn.writes.Load()
	if _, err := ch.Write(data); err != nil {
		t.Fatal(err)
	}
	writes := conn.writes.Load() - before
	ch.CloseWrite()
	if <-got != sha256.Sum256(data) {
		t.Fatal("the server read other bytes than were sent")
	}
	return writes
}

// openSession logs in over conn with cfg and opens a session channel; the client closes when
// the test ends.
func openSession(tb testing.TB, conn net.Conn, cfg *ssh.ClientConfig) ssh.Channel {
	c, chans, reqs, err := ssh.NewClientConn(conn, conn.RemoteAddr().String(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	client := ssh.NewClient(c, chans, reqs)
	tb.Cleanup(func() { client.Close() })
	ch, creqs, err := client.OpenChannel("session", nil)
	if err != nil {
		tb.Fatal(err)
	}
	go ssh.DiscardRequests(creqs)
	return ch
}

// listenInProcess is a loopback listener for an in-process server, closed when the test ends,
// and a host key for it.
func listenInProcess(t testing.TB) (net.Listener, ssh.Signer) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return ln, signer
}

// acceptOneChannel accepts one connection without authentication and its first channel. It
// returns nils when either fails.
func acceptOneChannel(ln net.Listener, signer ssh.Signer) (ssh.Channel, *ssh.ServerConn) {
	nc, err := ln.Accept()
	if err != nil {
		return nil, nil
	}
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(signer)
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		nc.Close()
		return nil, nil
	}
	go ssh.DiscardRequests(reqs)
	nch, ok := <-chans
	if !ok {
		sc.Close()
		return nil, nil
	}
	ch, creqs, err := nch.Accept()
	if err != nil {
		sc.Close()
		return nil, nil
	}
	go ssh.DiscardRequests(creqs)
	return ch, sc
}

// serveHash accepts one connection and channel, reads the channel to its end and sends the
// SHA-256 of what it read on got (zero when it failed).
func serveHash(ln net.Listener, signer ssh.Signer, got chan<- [sha256.Size]byte) {
	ch, sc := acceptOneChannel(ln, signer)
	if ch == nil {
		got <- [sha256.Size]byte{}
		return
	}
	defer sc.Close()
	h := sha256.New()
	io.Copy(h, ch)
	got <- [sha256.Size]byte(h.Sum(nil))
}

// BenchmarkChannelWrite: a session channel's Write of 256 KiB at a time over AES-GCM on
// loopback TCP to an in-process server that discards it; the time and allocations are both
// sides' (the server's reads are the same whatever the writer does).
func BenchmarkChannelWrite(b *testing.B) {
	ln, signer := listenInProcess(b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ch, sc := acceptOneChannel(ln, signer)
		if ch == nil {
			return
		}
		defer sc.Close()
		io.Copy(io.Discard, ch)
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	cfg := &ssh.ClientConfig{User: "u", HostKeyCallback: ssh.FixedHostKey(signer.PublicKey())}
	cfg.Ciphers = []string{ssh.CipherAES128GCM}
	ch := openSession(b, raw, cfg)
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := ch.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	ch.CloseWrite()
	<-done
}
