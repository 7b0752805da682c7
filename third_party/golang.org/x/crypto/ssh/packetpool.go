// Copyright 2026 The mitogend authors. This file is mitogend's patch to x/crypto
// (PATCHES.md), under the same license as the rest of the package.

package ssh

import "sync"

// Reuse of the buffers that channel data arrives in (mitogend's patch, PATCHES.md). Every
// packet GCM reads gets a buffer of its own (freshPacketCipher); a full channel packet needs
// one of 32 KiB and more, which the runtime allocates as a large object, zeroed, and collects
// again: about a tenth of the CPU a client spent receiving bulk data. A channel's buffer hands
// the data back once its reader has copied all of it out, and the next packet is read into it.
//
// What comes back is the data's slice, which starts a few bytes into the buffer the packet
// was read into (its padding length and the channel's header are in front), so every reuse
// starts that far further in: a buffer is made with room for many full packets' drift, and is
// dropped for a new one when what is left of it is too small.

const (
	// pooledPacketCap is the capacity a pooled buffer is made with: a full 32 KiB channel
	// packet with its header, padding and tag, and 7 KiB to drift into, about 700 reuses.
	pooledPacketCap = 40 << 10
	// minPooledPacket is the smallest packet read into a pooled buffer: small ones are
	// allocated as they come, so that a keystroke kept in a buffer holds no 40 KiB.
	minPooledPacket = 4 << 10
)

var packetBuffers sync.Pool // of *[]byte, each of capacity at least minPooledPacket

// packetBuffer returns a buffer of length n, reused where one is free and large enough.
func packetBuffer(n int) []byte {
	if n < minPooledPacket || n > pooledPacketCap {
		return make([]byte, n)
	}
	if p, ok := packetBuffers.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]byte, n, pooledPacketCap)
}

// releasePacketData gives data and the capacity beyond it back for packetBuffer to reuse.
// The caller must hold the only reference to that memory: data arrived in a packet that
// readPacket returned (which the caller owns) and has been consumed.
func releasePacketData(data []byte) {
	if cap(data) < minPooledPacket {
		return
	}
	b := data[:cap(data)]
	packetBuffers.Put(&b)
}
