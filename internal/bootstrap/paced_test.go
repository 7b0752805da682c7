package bootstrap

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// loader plays the memfd loader: it reads n bytes from r, acknowledging as perl does, and
// reports the most it ever held unacknowledged.
func loader(r io.Reader, ack io.Writer, n int, got *bytes.Buffer) (ahead int) {
	buf := make([]byte, 4096)
	unacked := 0
	for got.Len() < n {
		k, err := r.Read(buf[:min(len(buf), n-got.Len())])
		if err != nil {
			return ahead
		}
		got.Write(buf[:k])
		unacked += k
		ahead = max(ahead, unacked)
		for unacked >= AckUnit {
			ack.Write([]byte("."))
			unacked -= AckUnit
		}
	}
	if unacked > 0 {
		ack.Write([]byte("."))
	}
	return ahead
}

// TestSendPacedStaysInsideTheWindow: every byte arrives, never more than AckWindow ahead of the
// acknowledgements, and sendPaced returns once the last is acknowledged, with nothing of the
// stream read past them.
func TestSendPacedStaysInsideTheWindow(t *testing.T) {
	for _, n := range []int{1, AckUnit, 3*AckUnit + 17, 3 * AckWindow} {
		bin := bytes.Repeat([]byte{7}, n)
		toFar, fromNear := io.Pipe()
		toNear, fromFar := io.Pipe()
		var got bytes.Buffer
		ahead := make(chan int, 1)
		go func() {
			a := loader(toFar, fromFar, n, &got)
			fromFar.Write([]byte("HELLO"))
			ahead <- a
		}()
		br := bufio.NewReader(toNear)
		if err := sendPaced(br, fromNear, bin); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		rest, _ := br.Peek(5) // the far end's next words, which it blocks on until read
		a := <-ahead
		if !bytes.Equal(got.Bytes(), bin) {
			t.Errorf("%d bytes: the far end got %d", n, got.Len())
		}
		if a > AckWindow {
			t.Errorf("%d bytes: %d sent ahead of the acknowledgements, window %d", n, a, AckWindow)
		}
		if string(rest) != "HELLO" {
			t.Errorf("%d bytes: after the acknowledgements the stream holds %q", n, rest)
		}
	}
}

// TestSendPacedRefusesWhatIsNotAnAck: a far end that says anything else fails the send.
func TestSendPacedRefusesWhatIsNotAnAck(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("..x"))
	err := sendPaced(br, io.Discard, make([]byte, 4*AckUnit))
	if err == nil || !strings.Contains(err.Error(), "not an acknowledgement") {
		t.Fatalf("sendPaced = %v, want a refusal of the 'x'", err)
	}
	br = bufio.NewReader(strings.NewReader("."))
	if err := sendPaced(br, io.Discard, make([]byte, 2*AckWindow)); err == nil {
		t.Fatal("a far end that stopped after one unit: sendPaced returned nil")
	}
}
