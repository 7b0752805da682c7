package proto

// Service handles at the daemon behind fakessh -O. Like the others at the daemon, only trusted
// contexts (local clients) may call them. Handles 4-9 are reserved for this group.
const (
	DaemonCheck uint32 = 4 // ConnectRequest -> ControlReply; never connects
	DaemonExit  uint32 = 5 // ConnectRequest -> ControlReply; closes that destination's connection
)

// ControlReply is the daemon's answer about one destination's connection.
type ControlReply struct {
	Up          bool   `json:"up"`          // a connection to the destination was (for exit: had been) up
	PID         int    `json:"pid"`         // the daemon's pid: the "master" that ssh -O check names
	Destination string `json:"destination"` // user@host:port as resolved
}
