package proto

import "github.com/mitogen-go/mitogend/router"

// Services at an agent for contexts started through it (become and container contexts). Only
// the daemon (Root) may use them: a context behind an agent must never start or route others.
const (
	// AgentSpawn is a stream; open payload SpawnRequest. The agent runs the command, relays
	// its prompts (ReqPrompt, answered with ReqAnswer), bootstraps an agent into it from its
	// own build and links it behind itself as context SpawnRequest.ID. It ends with ReqSpawned
	// (payload: the child's AgentInfo) or ReqSpawnFailed (payload: SpawnFailure), then Close.
	AgentSpawn uint32 = 18
	// AgentRoute is a call; payload RouteRequest. The agent routes context ID toward context
	// Via, which lies behind it: a child of its own child.
	AgentRoute uint32 = 19
	// AgentDrop is a call; payload RouteRequest with ID alone. The agent closes the link to its
	// child ID, which then leaves, and with it every context behind it. The daemon recycles idle
	// contexts with it.
	AgentDrop uint32 = 23
)

// Stream requests on AgentSpawn.
const (
	ReqPrompt      = "prompt"       // agent to daemon: JSON PromptRequest, a prompt the command showed
	ReqAnswer      = "answer"       // daemon to agent: JSON PromptReply, typed for the last prompt
	ReqSpawned     = "spawned"      // agent to daemon: JSON AgentInfo of the child
	ReqSpawnFailed = "spawn-failed" // agent to daemon: JSON SpawnFailure
)

// SpawnRequest starts a child context.
type SpawnRequest struct {
	ID   router.ID `json:"id"`   // the id the child takes: the daemon hands out every id
	Name string    `json:"name"` // for logs and status: "sudo -u postgres"
	// Argv is run as it is (no shell) with stdin and stdout on pipes, which become the child's
	// link, and stderr on a pseudo-terminal that is also its controlling terminal, so that
	// prompts and requiretty work. Its far end must run bootstrap.Command.
	Argv []string `json:"argv"`
	// Prompts mark a prompt: when the last line the command wrote on its terminal since the
	// last answer contains one of them (case folded) and ends in ':' (spaces aside), it is
	// relayed with ReqPrompt. None relays nothing.
	Prompts []string `json:"prompts,omitempty"`
	// AnswerOn is where the command reads its answers: "tty" (sudo, doas) or "stdin" (su, whose
	// PAM conversation reads its standard input).
	AnswerOn string `json:"answer_on,omitempty"`
	// Strip is removed from the front of a prompt before the user sees it: a marker the
	// daemon put in sudo's -p prompt to find it.
	Strip string `json:"strip,omitempty"`
}

// SpawnFailure is why a child did not start: what the command wrote on its terminal (sudo's
// own messages: "Sorry, try again.", "sudo: a password is required") and how it ended.
type SpawnFailure struct {
	Output string `json:"output"`
	Status int    `json:"status"` // its exit status, or -1 when it had not exited
	Reason string `json:"reason,omitempty"`
}

// RouteRequest is the payload of AgentRoute.
type RouteRequest struct {
	ID  router.ID `json:"id"`
	Via router.ID `json:"via"`
}
