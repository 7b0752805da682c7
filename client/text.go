package client

import "github.com/mitogen-go/mitogend/flagparse"

// versionText is what -V prints on stderr: OpenSSH's line first, since callers parse it.
const versionText = "OpenSSH_9.2p1 fakessh (mitogend 0.1), OpenSSL 3.0 compatible"

const usageText = flagparse.Usage
