package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"

	ucli "github.com/urfave/cli/v2"

	"github.com/mitogen-go/mitogend/flagparse"
	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/router"
)

// statusCommand is `mitogend status [--json] [--match PATTERNS] [--busy] [--summary]
// [DESTINATION]`. Without a destination it prints a summary of everything the daemon holds
// first, then the connections the filters select (all of them without filters), so that a
// fleet's status is read from its top line. With a destination (written as for ssh: options
// before it after --), it shows that destination's connection alone and exits 1 when there is
// none, as `fakessh -O check` exits 255.
func statusCommand(ctx context.Context, stdio Stdio, home string, socketFlag ucli.Flag) *ucli.Command {
	return &ucli.Command{
		Name:  "status",
		Usage: "show a summary, then connections, contexts, streams and bytes (of one destination if given)",
		UsageText: "mitogend status [--json] [--socket PATH] [--match PATTERNS] [--busy] [--summary]\n" +
			"mitogend status [--json] [--socket PATH] DESTINATION\n" +
			"mitogend status [--json] [--socket PATH] -- [SSH OPTIONS] DESTINATION",
		Description: "Without a destination: a summary line (connections, those being set up, contexts,\n" +
			"streams, agents that did not answer, jump hosts, clients), then the connections sorted\n" +
			"by destination with the contexts started through each, and the clients. --match lists\n" +
			"only destinations (user@host:port, or the host alone) matching an ssh_config pattern list\n" +
			"(\"web*,!web9*\"); --busy only connections serving streams (or whose agent did not\n" +
			"answer); --summary the summary alone. With a destination: that destination's connection,\n" +
			"resolved as fakessh -O check resolves it (ssh options such as -p, -l, -F go after --);\n" +
			"the exit status is 1 when it has none. --json prints the daemon's answer as one JSON object.",
		Flags: []ucli.Flag{socketFlag, &ucli.BoolFlag{Name: "json", Usage: "print JSON"},
			&ucli.StringFlag{Name: "match", Usage: "list only destinations matching these ssh_config patterns"},
			&ucli.BoolFlag{Name: "busy", Usage: "list only connections serving streams"},
			&ucli.BoolFlag{Name: "summary", Usage: "print the summary alone"}},
		Action: func(c *ucli.Context) error {
			filter := proto.StatusRequest{Match: c.String("match"), Busy: c.Bool("busy"), Summary: c.Bool("summary")}
			req, err := statusRequest(c.Args().Slice(), stdio.Getenv, home)
			if err != nil {
				return err
			}
			if req != nil && filter != (proto.StatusRequest{}) {
				return errors.New("cli: status: --match, --busy and --summary list many connections, not one destination")
			}
			if req == nil && filter != (proto.StatusRequest{}) {
				if req, err = json.Marshal(filter); err != nil {
					return fmt.Errorf("cli: status: %w", err)
				}
				return status(ctx, c.String("socket"), req, false, c.Bool("json"), stdio.Stdout)
			}
			return status(ctx, c.String("socket"), req, req != nil, c.Bool("json"), stdio.Stdout)
		},
	}
}

// statusRequest is the ConnectRequest for one destination given as an ssh command line, or nil
// for none. It carries what fakessh -O check sends, and SSH_AUTH_SOCK, which is part of which
// connection a call from this environment would ride.
func statusRequest(args []string, getenv func(string) string, home string) ([]byte, error) {
	if len(args) == 0 {
		return nil, nil
	}
	opts, err := flagparse.Parse(args)
	var fe *flagparse.Error
	switch {
	case errors.As(err, &fe):
		return nil, fmt.Errorf("cli: status: %s", fe.Msg)
	case err != nil:
		return nil, fmt.Errorf("cli: status: %w", err)
	case opts.Host == "":
		return nil, errors.New("cli: status: no destination")
	case opts.Command != "":
		return nil, fmt.Errorf("cli: status: a destination, not a command: %q (flags of status go before the destination)", opts.Command)
	}
	name := getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return json.Marshal(proto.ConnectRequest{
		Host: opts.Host, Config: opts.Config, ConfigFile: opts.ConfigFile, Home: home, LocalUser: name,
		AuthSock: getenv("SSH_AUTH_SOCK"),
	})
}

// status asks the daemon at sock; one says whether req names one destination.
func status(ctx context.Context, sock string, req []byte, one, asJSON bool, w io.Writer) error {
	b, err := callWith(ctx, sock, proto.DaemonStatus, req)
	if err != nil {
		return err
	}
	var st proto.Status
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("cli: status: %w", err)
	}
	if asJSON {
		fmt.Fprintf(w, "%s\n", b)
	} else {
		proto.SortStatus(&st) // an older daemon may not have
		printStatus(w, &st, !one)
	}
	if one && len(st.Connections) == 0 {
		return fmt.Errorf("cli: status: no connection to %s", st.Destination)
	}
	return nil
}

// printStatus prints st as a table, connections sorted by destination; clients says whether to
// end with the clients line (not for one destination).
func printStatus(w io.Writer, st *proto.Status, clients bool) {
	fmt.Fprintf(w, "mitogend %s pid %d, socket %s, up %s\n", st.Version, st.PID, st.Socket, st.Uptime)
	if s := st.Summary; s != nil {
		fmt.Fprintf(w, "connections %d (setting up %d), contexts %d, streams %d, agents not answering %d, jump hosts %d, clients %d; listed %d\n",
			s.Connections, s.Connecting, s.Contexts, s.Streams, s.NoAnswer, s.Hops, s.Clients, s.Listed)
		if len(st.Connections) == 0 && s.Listed == 0 && s.Connections > 0 {
			return // --summary, or a filter that selects nothing
		}
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "DESTINATION\tCONTEXT\tAGENT\tSTREAMS\tBYTES IN\tBYTES OUT\tSINCE")
	for _, cn := range st.Connections {
		streams := strconv.Itoa(cn.Streams)
		if cn.NoAnswer {
			streams = "?"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s/%s pid %d (%s)\t%s\t%d\t%d\t%s\n", cn.Destination, cn.Context,
			cn.Agent.OS, cn.Agent.Arch, cn.Agent.PID, cn.Agent.Exe, streams, cn.BytesIn, cn.BytesOut, cn.Since)
		printContexts(tw, cn.Contexts, cn.Context, "  ")
	}
	tw.Flush()
	if !clients {
		return
	}
	var names []string
	for _, l := range st.Links {
		if l.Trusted {
			names = append(names, l.Name)
		}
	}
	fmt.Fprintf(w, "clients: %d %s\n", len(names), strings.Join(names, " "))
}

// printContexts prints the contexts behind parent as a tree under its connection's line.
func printContexts(tw io.Writer, all []proto.ContextStatus, parent router.ID, indent string) {
	for _, cs := range all {
		if cs.Parent == parent {
			streams := strconv.Itoa(cs.Streams)
			if cs.NoAnswer {
				streams = "?"
			}
			fmt.Fprintf(tw, "%s└ %s\t%d\tpid %d, idle %s\t%s\t\t\t\n", indent, cs.Name, cs.Context, cs.Agent.PID, cs.Idle, streams)
			printContexts(tw, all, cs.Context, indent+"  ")
		}
	}
}
