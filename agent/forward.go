package agent

import (
	"github.com/mitogen-go/mitogend/router"
	"github.com/mitogen-go/mitogend/tunnel"
)

// registerForwarding offers the services behind -W, -L, -R and -D.
func registerForwarding(ep *tunnel.Endpoint, logf router.Logf) {}
