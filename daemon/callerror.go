package daemon

import (
	"errors"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/sshconfig"
	"github.com/mitogen-go/mitogend/sshdial"
)

// callError types a failure to connect for the caller: ssh's messages (logMessages) and the
// kind that gives each its level.
func callError(err error) *proto.CallError {
	var ce *sshconfig.ConfigError
	if errors.As(err, &ce) && len(ce.Messages) > 0 {
		return proto.NewCallError(proto.FailConfig, ce.Messages)
	}
	kind := proto.FailOther
	switch {
	case errors.Is(err, sshdial.ErrResolve):
		kind = proto.FailResolve
	case errors.Is(err, sshdial.ErrConnect), errors.Is(err, sshdial.ErrTimeout):
		kind = proto.FailConnect
	case errors.Is(err, sshdial.ErrHostKeyUnknown), errors.Is(err, sshdial.ErrHostKeyChanged), errors.Is(err, sshdial.ErrHostKeyRevoked):
		kind = proto.FailHostKey
	case errors.Is(err, sshdial.ErrPermissionDenied):
		kind = proto.FailAuth
	case errors.Is(err, sshdial.ErrProtocol):
		kind = proto.FailProtocol
	}
	return proto.NewCallError(kind, logMessages(err))
}
