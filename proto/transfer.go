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

// File transfer services at an agent (package transfer), for the controller side: mitogend cp.
// Every file received replaces its destination atomically (temporary file, mode, owner and times
// on the descriptor, fsync, rename, directory fsync) after its sha256 is checked.
const (
	// AgentPut is a stream; open payload: 4-byte length, JSON PutRequest, then file records
	// (package transfer). Records that do not fit in the open payload follow on the stream,
	// then EOF. The agent answers with result records and closes.
	AgentPut uint32 = 24
	// AgentGet is a stream; open payload JSON GetRequest. The agent sends file records, then
	// EOF, and closes.
	AgentGet uint32 = 25
)

// PutRequest says where the files of an AgentPut go.
type PutRequest struct {
	// Target is the destination path (relative to the home directory, "~/" expanded): a
	// directory that receives the files, or the name of the one file or directory sent.
	Target string `json:"target"`
	// ToDir says several sources were named: Target must be a directory.
	ToDir bool `json:"to_dir,omitempty"`
	// Preserve gives each file the mode and times of its source (scp -p).
	Preserve bool `json:"preserve,omitempty"`
	// Resume writes through partial files that outlive an interrupted transfer.
	Resume bool `json:"resume,omitempty"`
	// Probe sends file headers only: the agent says which destinations already hold the same
	// content (by size and sha256) and how much of each a partial file holds.
	Probe bool `json:"probe,omitempty"`
	// Complete says every record rode in the open payload: nothing follows on the stream.
	Complete bool `json:"complete,omitempty"`
}

// GetRequest names the files an AgentGet sends.
type GetRequest struct {
	Sources   []string `json:"sources"`
	Recursive bool     `json:"recursive,omitempty"`
	Preserve  bool     `json:"preserve,omitempty"`
	// Resume holds, per source, what the caller's partial file holds: the agent sends the rest
	// when its file starts with the same bytes.
	Resume map[string]ResumePoint `json:"resume,omitempty"`
}

// ResumePoint is the length and sha256 (hex) of a partial file's content.
type ResumePoint struct {
	Offset int64  `json:"offset"`
	SHA256 string `json:"sha256"`
}
