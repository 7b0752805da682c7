// Package tunnel is the endpoint layer on top of package router: flow-controlled byte streams
// (the tunnels that carry a command's stdin, stdout and stderr) and one-shot calls between
// contexts.
//
// Flow control follows x/crypto/ssh channels and yamux: each direction of a stream has a window;
// a writer blocks on its own goroutine until the peer grants room; the reader grants consumed
// bytes back in batches (once a quarter window is read); a peer that sends beyond its window has
// broken the protocol and the stream is reset. A stalled reader therefore stalls only its own
// stream, and a stream never holds more than one window of unread data in memory.
//
// A stream open is a question its service answers, as an SSH channel open is (x/crypto/ssh's
// NewChannel): a NewStreamHandler accepts it (with a payload of its own) or rejects it with an
// RFC 4254 reason code and a message, and that answer is the only frame that answers the open.
// Listen is the shorthand for services that accept everything. A Stream moves through the
// states opening, open, closing and closed (stream.go); its Context ends with it, CloseWhenDone
// ends it with a context of the caller's, and it has read and write deadlines as a net.Conn.
//
// Call handlers run with a context that ends when the caller's context disconnects.
//
// Streams are end to end: routers in between see frames, not streams.
//
// tunnel is not a transport: it never touches a socket. It sends through a Sender (a
// *router.Router) and is fed by the router through HandleMessage.
package tunnel
