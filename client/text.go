package client

import (
	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/internal/version"
)

// versionLine is what -V prints on stderr: one line shaped as OpenSSH's, since callers parse it
// (see printVersion); fakessh's build stands where a distribution puts its patch level.
func versionLine() string {
	return "OpenSSH_9.2p1 fakessh (mitogend " + version.Version() + "), OpenSSL 3.0 compatible"
}

const usageText = flagparse.Usage
