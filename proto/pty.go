package proto

// PTYRequest asks for a pseudo-terminal for an exec, as ssh's pty-req does. Term "" sets no
// TERM on the target (sshd's rule); Cols and Rows are 0 when the client's stdin is no terminal.
type PTYRequest struct {
	Term   string            `json:"term"`
	Cols   int               `json:"cols,omitempty"`
	Rows   int               `json:"rows,omitempty"`
	Width  int               `json:"width,omitempty"`  // pixels
	Height int               `json:"height,omitempty"` // pixels
	Modes  map[string]uint32 `json:"modes,omitempty"`  // RFC 4254 mode name -> value, as ssh's tty_make_modes
}

// ReqWindowChange is the stream request a client sends when its terminal is resized (SIGWINCH),
// as ssh's "window-change"; payload: JSON WindowChange. The agent ignores it without a pty.
const ReqWindowChange = "window-change"

// WindowChange is the new size of the client's terminal.
type WindowChange struct {
	Cols   int `json:"cols,omitempty"`
	Rows   int `json:"rows,omitempty"`
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
}
