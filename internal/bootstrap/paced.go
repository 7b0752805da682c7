package bootstrap

import (
	"bufio"
	"fmt"
	"io"
)

// sendAll writes the build at once: the far end's loader says nothing while it reads.
func sendAll(_ *bufio.Reader, w io.Writer, bin []byte) error {
	_, err := w.Write(bin)
	return err
}

// sendPaced writes the build AckUnit bytes at a time, at most AckWindow ahead of the loader's
// acknowledgements, which it reads from br: one "." per AckUnit, and one for the rest. It
// returns once every byte is sent and acknowledged, so that br holds nothing but what the agent
// says next. Should the far end stop reading, the caller closes the stream, which ends the read.
func sendPaced(br *bufio.Reader, w io.Writer, bin []byte) error {
	units := (len(bin) + AckUnit - 1) / AckUnit
	credit := make(chan struct{}, AckWindow/AckUnit)
	for range cap(credit) {
		credit <- struct{}{}
	}
	acked := make(chan error, 1)
	go func() { acked <- readAcks(br, units, credit) }()
	for off := 0; off < len(bin); off += AckUnit {
		select {
		case <-credit:
		case err := <-acked:
			if err == nil {
				err = fmt.Errorf("acknowledged more than was sent")
			}
			return err
		}
		if _, err := w.Write(bin[off:min(len(bin), off+AckUnit)]); err != nil {
			return err
		}
	}
	return <-acked
}

// readAcks reads n acknowledgements, giving a unit of credit back for each.
func readAcks(br *bufio.Reader, n int, credit chan<- struct{}) error {
	for i := range n {
		b, err := br.ReadByte()
		if err != nil {
			return fmt.Errorf("agent loader stopped after %d of %d units: %w", i, n, err)
		}
		if b != '.' {
			return fmt.Errorf("agent loader said %q, not an acknowledgement", b)
		}
		select {
		case credit <- struct{}{}:
		default: // the last units: nothing more to send
		}
	}
	return nil
}
