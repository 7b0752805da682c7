package proto

// SCPRequest, set in an ExecRequest, says the command is the remote end of scp -O in a form the
// agent serves itself (package scpserver) with atomic replacement of each file it receives.
// Command (or Argv) still holds the command line, which an agent that does not know SCP runs.
type SCPRequest struct {
	Sink      bool     `json:"sink,omitempty"`       // scp -t; else scp -f
	Recursive bool     `json:"recursive,omitempty"`  // -r
	Preserve  bool     `json:"preserve,omitempty"`   // -p
	TargetDir bool     `json:"target_dir,omitempty"` // -d
	Paths     []string `json:"paths"`
}
