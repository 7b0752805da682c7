package proto

import "path/filepath"

// SocketPath is where the daemon listens and fakessh connects: $MITOGEN_SOCKET when set, else
// $XDG_RUNTIME_DIR/mitogen/mitogend.sock, else ~/.mitogen/mitogend.sock. getenv is passed in
// because libraries here do not read the environment themselves.
func SocketPath(getenv func(string) string, home string) string {
	if p := getenv("MITOGEN_SOCKET"); p != "" {
		return p
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "mitogen", "mitogend.sock")
	}
	return filepath.Join(home, ".mitogen", "mitogend.sock")
}
