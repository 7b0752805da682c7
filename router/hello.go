package router

import (
	"encoding/json"
	"fmt"
	"io"
)

// Version is the protocol version carried in Hello.
const Version = 2

// Hello is the link handshake: the child (the side farther from the root) sends one first,
// before any routed frame, and the parent answers with its own. The side
// nearer the root assigns the ids: ID is the context id the far side takes (or, sent by the
// far side, the id it was given), Parent the id of the context that owns the link.
type Hello struct {
	Version int               `json:"version"`
	ID      ID                `json:"id"`
	Parent  ID                `json:"parent"`
	Info    map[string]string `json:"info,omitempty"`
}

// WriteHello sends h as a Hello frame.
func WriteHello(w io.Writer, h Hello) error {
	h.Version = Version
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return WriteMessage(w, &Message{Header: Header{Kind: KindHello}, Payload: b})
}

// ReadHello reads the peer's Hello. It reads exactly one frame and nothing more, so r may be
// handed to a Router afterwards.
func ReadHello(r io.Reader) (Hello, error) {
	var h Hello
	m, err := ReadMessage(r, 64<<10)
	if err != nil {
		return h, fmt.Errorf("router: reading hello: %w", err)
	}
	if m.Kind != KindHello {
		return h, fmt.Errorf("router: expected hello, got kind %d", m.Kind)
	}
	if err := json.Unmarshal(m.Payload, &h); err != nil {
		return h, fmt.Errorf("router: bad hello: %w", err)
	}
	if h.Version != Version {
		return h, fmt.Errorf("router: peer speaks version %d, want %d", h.Version, Version)
	}
	return h, nil
}
