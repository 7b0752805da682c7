package proto

// PTYRequest asks for a pseudo-terminal for an exec, as ssh's pty-req does.
type PTYRequest struct {
	Term       string `json:"term"`
	Cols, Rows int    `json:"cols,omitempty"`
}
