package cli

import (
	"fmt"
	"io"
	"runtime"

	ucli "github.com/urfave/cli/v2"

	"github.com/mitogen-go/mitogend/internal/layout"
	"github.com/mitogen-go/mitogend/internal/version"
)

// appDescription is the DESCRIPTION of mitogend --help and mitogend(1).
const appDescription = `mitogend owns the SSH connections that fakessh(1) calls ride: one connection per target, a
small agent on each target sent over it and run from memory, and a router between them. fakessh
starts it on first use (mitogend serve, detached, logging to mitogend.log beside the socket); it
exits after --idle without clients.

Agent builds (mitogen-agent.OS-ARCH, and a .gz copy) are looked for beside the mitogend
binary, then in ../lib/mitogend relative to it (PREFIX/lib/mitogend after make install or the
Debian package), unless --agent-dir or MITOGEN_AGENT_DIR names the one directory to use.

The socket is $MITOGEN_SOCKET, else $XDG_RUNTIME_DIR/mitogen/mitogend.sock, else
~/.mitogen/mitogend.sock.

mitogend status lists the connections sorted by destination; mitogend status DESTINATION shows
one destination's connection, resolved as fakessh -O check resolves it, and exits 1 when it has
none; --json prints the daemon's answer as JSON for scripts and monitoring.`

// versionFlag is mitogend --version. It is a flag of the app's own, not urfave's VersionFlag,
// whose printer is a package variable.
var versionFlag = &ucli.BoolFlag{Name: "version", Usage: "print the version, the commit and the agent builds found"}

// appAction runs when no command is given: --version, else the help.
func appAction(c *ucli.Context, stdio Stdio) error {
	switch {
	case c.Bool("version"):
		dirs, err := agentDirs(stdio.Getenv("MITOGEN_AGENT_DIR"))
		if err != nil {
			return err
		}
		printVersion(stdio.Stdout, dirs)
		return nil
	case c.NArg() > 0:
		return fmt.Errorf("cli: no command %q (see mitogend help)", c.Args().First())
	}
	return ucli.ShowAppHelp(c)
}

// agentDirs is where serve looks for agent builds: dir alone when given (--agent-dir,
// MITOGEN_AGENT_DIR), else beside this executable, then in ../lib/mitogend.
func agentDirs(dir string) ([]string, error) {
	if dir != "" {
		return []string{dir}, nil
	}
	return layout.ExecutableAgentDirs()
}

// printVersion prints one "key value" line each: what build this is and which agent builds serve
// would send (layout.WriteAgents).
func printVersion(w io.Writer, dirs []string) {
	fmt.Fprintf(w, "mitogend %s\n", version.Version())
	if c := version.Commit(); c != "" {
		fmt.Fprintf(w, "commit %s\n", c)
	}
	fmt.Fprintf(w, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	layout.WriteAgents(w, dirs)
}
