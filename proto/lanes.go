package proto

// AgentLanes (call, daemon only): nothing -> LanesReply. The agent listens for lanes
// (package internal/lanes) on a Unix socket of its own, in a directory only its user may enter,
// and answers its path; the daemon opens lanes to it as direct-streamlocal channels, each
// starting with a lane hello. Asking again returns the same path.
const AgentLanes uint32 = 26

// LanesReply is the answer to AgentLanes.
type LanesReply struct {
	Path string `json:"path"`
}

// Lanes, in an ExecRequest, says the command's stdin and stdout go over a set of lanes the
// daemon opened to the agent's socket, not over the AgentExec stream, which carries the rest
// (stderr, signals, the exit). Set is the set's identifier in hex.
type Lanes struct {
	Set   string `json:"set"`
	Count int    `json:"count"`
}
