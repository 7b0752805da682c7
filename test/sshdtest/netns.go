package sshdtest

// placement is where sshd runs and what it listens on: by default the test's own network
// namespace and 127.0.0.1.
type placement struct {
	netns  string // run sshd inside this named network namespace ("" = the test's)
	listen string // ListenAddress, and the address clients use ("" = 127.0.0.1)
}

// WithNetns runs sshd inside the named network namespace (ip netns exec), for targets that
// only some hosts can reach; combine it with WithListenAddress, since the namespace has its own
// loopback. See package netnstest.
func WithNetns(name string) Option {
	return func(c *config) { c.netns = name }
}

// WithListenAddress makes sshd listen on addr (an IP address) instead of 127.0.0.1; the
// Server's Host, Addr, known_hosts line and ssh_config use it too.
func WithListenAddress(addr string) Option {
	return func(c *config) { c.listen = addr }
}

func (c config) listenHost() string {
	if c.listen == "" {
		return "127.0.0.1"
	}
	return c.listen
}

// command is the argv that starts sshd: as is, or through ip netns exec, which switches
// namespace and then executes sshd itself (no fork), so the process stays sshd's.
func (c config) command(sshd string, args ...string) []string {
	argv := append([]string{sshd}, args...)
	if c.netns == "" {
		return argv
	}
	return append([]string{"ip", "netns", "exec", c.netns}, argv...)
}
