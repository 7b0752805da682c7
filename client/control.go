package client

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
)

// control is -O: ask the daemon about the destination's tunnel. It never starts a daemon: with
// none running there is no tunnel, as with no ControlMaster socket.
func control(ctx context.Context, opts *flagparse.Options, stdio Stdio) error {
	var handle uint32
	switch opts.ControlCommand {
	case "check":
		handle = proto.DaemonCheck
	case "exit", "stop":
		// ssh's stop lets the master finish its sessions; the daemon's sessions do not depend on
		// this caller, so closing the connection is the nearest equivalent.
		handle = proto.DaemonExit
	default:
		return &Error{Msg: fmt.Sprintf("fakessh: -O %s is not supported", opts.ControlCommand)}
	}
	home, name := localAccount(stdio)
	sock := proto.SocketPath(stdio.getenv, home)
	// SSH_AUTH_SOCK is part of which connection a call rides (the agent's keys are its identity).
	creq := proto.ConnectRequest{
		Host: opts.Host, Config: opts.Config, ConfigFile: opts.ConfigFile, Home: home, LocalUser: name,
		AuthSock: stdio.getenv("SSH_AUTH_SOCK"), Shell: stdio.getenv("SHELL"), Path: stdio.getenv("PATH"),
	}
	rc := resolveConfig(opts, stdio)
	if err := configFailure(opts, rc); err != nil {
		return err
	}
	if rc.ok {
		var err error
		if creq.Resolved, err = dialConfig(opts, rc, stdio, false); err != nil {
			return err
		}
	}
	req, _ := json.Marshal(creq)
	b, err := callDaemon(ctx, sock, handle, req)
	if err != nil {
		return err
	}
	var reply proto.ControlReply
	if err := json.Unmarshal(b, &reply); err != nil {
		return &Error{Msg: "fakessh: daemon: bad reply: " + err.Error(), Err: err}
	}
	if !reply.Up {
		return &Error{Msg: fmt.Sprintf("Control socket connect(%s): no tunnel to %s", sock, reply.Destination)}
	}
	// mux.c ends these lines with \r\n: a terminal may be in raw mode.
	switch opts.ControlCommand {
	case "check":
		fmt.Fprintf(stdio.Stderr, "Master running (pid=%d)\r\n", reply.PID)
	case "exit":
		fmt.Fprint(stdio.Stderr, "Exit request sent.\r\n")
	case "stop":
		fmt.Fprint(stdio.Stderr, "Stop listening request sent.\r\n")
	}
	return nil
}

// callDaemon makes one call to a running daemon, with ssh's message when none answers.
func callDaemon(ctx context.Context, sock string, handle uint32, req []byte) ([]byte, error) {
	d, err := DialDaemon(sock)
	if err != nil {
		return nil, reachError(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := d.Call(ctx, handle, req)
	if err != nil {
		return nil, callError(err)
	}
	return b, nil
}
