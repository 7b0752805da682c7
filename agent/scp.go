package agent

import (
	"os"
	"os/user"

	"github.com/mitogen-go/mitogend/proto"
	"github.com/mitogen-go/mitogend/scpserver"
	"github.com/mitogen-go/mitogend/tunnel"
)

// serveSCP runs scp -t or scp -f in-process (package scpserver), where sshd would run the
// target's scp under the login shell: each file received replaces the old one atomically. It
// starts where that scp would: the home directory, or the context's own directory (KeepDir).
// The session ends as the command's would: exit status, then EOF.
func serveSCP(a *agent, s *tunnel.Stream, req proto.ExecRequest) {
	r := scpserver.Request{
		Sink: req.SCP.Sink, Recursive: req.SCP.Recursive, Preserve: req.SCP.Preserve,
		TargetDir: req.SCP.TargetDir, Paths: req.SCP.Paths, Logf: a.logf,
	}
	if req.KeepDir {
		r.Dir, _ = os.Getwd()
	} else if u, err := user.Current(); err == nil && u.HomeDir != "" {
		if st, err := os.Stat(u.HomeDir); err == nil && st.IsDir() {
			r.Dir = u.HomeDir
		}
	}
	status := scpserver.Serve(s, s, r)
	sendStatus(s, status)
	s.CloseWrite()
}
