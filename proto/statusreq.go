package proto

// StatusRequest narrows what DaemonStatus lists, for a daemon holding a fleet: the summary
// always counts everything, Connections and Links hold only what matches.
type StatusRequest struct {
	// Match is an ssh_config pattern list ("*.example.com,!db*", negations win) against each
	// connection's destination, user@host:port, and its host alone.
	Match string `json:"match,omitempty"`
	// Busy lists only connections whose agent serves streams, or whose agent did not answer.
	Busy bool `json:"busy,omitempty"`
	// Summary asks for the counts alone: no connections, no links.
	Summary bool `json:"summary,omitempty"`
}

// StatusSummary counts what the daemon holds, whatever a StatusRequest lists.
type StatusSummary struct {
	Connections int `json:"connections"` // SSH connections with an agent
	Connecting  int `json:"connecting"`  // being set up (waiting for a slot, dialling, bootstrapping)
	Contexts    int `json:"contexts"`    // started through the connections, at every depth
	Streams     int `json:"streams"`     // served by the connections' agents, as they answered
	NoAnswer    int `json:"no_answer"`   // agents that did not answer within the status deadline
	Hops        int `json:"hops"`        // jump-host connections
	Clients     int `json:"clients"`     // local clients, the one asking included
	Listed      int `json:"listed"`      // connections in Status.Connections
	// Goroutines is the daemon's own count (runtime.NumGoroutine), for what a fleet costs it.
	Goroutines int `json:"goroutines"`
}
