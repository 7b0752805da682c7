package sshdial

import (
	"crypto/sha256"
	"io"
	"net"
	"runtime"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestPacketBuffersReused checks the patch that reuses the buffers channel data arrives in
// (third_party, PATCHES.md, packetpool.go). A client receiving bulk data over GCM allocates
// a small part of what it receives: upstream allocated a buffer of 32 KiB and more for every
// packet. And it reads what was sent, in reads that end inside packets: a buffer given back
// before its data had all been read would be overwritten by a later packet.
func TestPacketBuffersReused(t *testing.T) {
	const size = 64 << 20
	data := make([]byte, 1<<20) // sent size/len(data) times
	for i := range data {
		data[i] = byte(i % 251)
	}
	ch := receiveFrom(t, data, size/len(data))

	want := sha256.New()
	for range size / len(data) {
		want.Write(data)
	}
	h := sha256.New()
	buf := make([]byte, 12345) // not a divisor of a packet's data
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n, err := io.CopyBuffer(h, struct{ io.Reader }{ch}, buf)
	runtime.ReadMemStats(&after)
	if err != nil || n != size {
		t.Fatalf("read %d bytes (%v), want %d", n, err, size)
	}
	if string(h.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatal("the client read other bytes than were sent")
	}
	// The sender's side runs in this process too, and allocates little per packet.
	checkReused(t, &before, &after, size)
}

// TestReadBuffers checks the vendored channel's ReadBuffers (PATCHES.md), which hands out the
// data as it arrived instead of copying it: what it returns, taken up to a bound that splits
// packets, is what was sent, and the buffers it gave out are reused once the next call is made.
func TestReadBuffers(t *testing.T) {
	const size = 64 << 20
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i % 253)
	}
	ch := receiveFrom(t, data, size/len(data))
	br, ok := ch.(interface {
		ReadBuffers([][]byte, int) ([][]byte, error)
	})
	if !ok {
		t.Fatal("the channel has no ReadBuffers")
	}
	want := sha256.New()
	for range size / len(data) {
		want.Write(data)
	}
	h := sha256.New()
	const max = 50000 // a packet and a half: some calls end inside one
	var bufs [][]byte
	var n int
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for {
		var err error
		bufs, err = br.ReadBuffers(bufs[:0], max)
		got := 0
		for _, b := range bufs {
			h.Write(b)
			got += len(b)
		}
		if got > max {
			t.Fatalf("ReadBuffers returned %d bytes, more than the %d asked for", got, max)
		}
		n += got
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n != size || string(h.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("read %d bytes, other than the %d sent", n, size)
	}
	checkReused(t, &before, &after, size)
}

// checkReused fails t if receiving size bytes allocated more than a quarter of them: upstream
// allocated a new buffer for every packet, so a reuse that broke shows as about one byte per
// byte. The race detector's pool keeps too little to measure (raceEnabled).
func checkReused(t *testing.T, before, after *runtime.MemStats, size int) {
	t.Helper()
	perByte := float64(after.TotalAlloc-before.TotalAlloc) / float64(size)
	t.Logf("%.3f bytes allocated per byte received", perByte)
	if raceEnabled {
		return
	}
	if perByte > 0.25 {
		t.Errorf("%.3f bytes allocated per byte received: packet buffers are not reused", perByte)
	}
}

// receiveFrom opens a session channel to an in-process server over aes128-gcm, which sends
// data on it times times and closes it, and returns the client's end.
func receiveFrom(t *testing.T, data []byte, times int) ssh.Channel {
	ln, signer := listenInProcess(t)
	go serveSend(ln, signer, data, times)
	cfg := &ssh.ClientConfig{User: "u", HostKeyCallback: ssh.FixedHostKey(signer.PublicKey())}
	cfg.Ciphers = []string{ssh.CipherAES128GCM}
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return openSession(t, raw, cfg)
}

// serveSend accepts one connection and channel, writes data on it times times and closes it.
func serveSend(ln net.Listener, signer ssh.Signer, data []byte, times int) {
	ch, sc := acceptOneChannel(ln, signer)
	if ch == nil {
		return
	}
	defer sc.Close()
	for range times {
		if _, err := ch.Write(data); err != nil {
			return
		}
	}
	ch.CloseWrite()
	ch.Close()
	sc.Wait()
}
