package agent

import (
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// serveBuiltinSFTP serves the sftp subsystem in-process on a target without sftp-server.
func serveBuiltinSFTP(s *tunnel.Stream, logf router.Logf) {
	fail(s, "subsystem request failed on channel 0")
}
