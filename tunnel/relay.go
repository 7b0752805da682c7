package tunnel

import "io"

// Relay joins s to c until both directions end: each side's end of input becomes the other's
// half-close (CloseWrite where c has one), and an error in either direction closes both, since
// the other direction would never end cleanly. It closes s and c before returning.
func Relay(s *Stream, c io.ReadWriteCloser) {
	errs := make(chan error, 2)
	go func() {
		_, err := io.Copy(c, s)
		if err == nil {
			if cw, ok := c.(interface{ CloseWrite() error }); ok {
				err = cw.CloseWrite()
			}
		}
		errs <- err
	}()
	go func() {
		_, err := io.Copy(s, c)
		if err == nil {
			err = s.CloseWrite()
		}
		errs <- err
	}()
	for range 2 {
		if err := <-errs; err != nil {
			break
		}
	}
	c.Close()
	s.Close()
}
