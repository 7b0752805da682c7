package flagparse

// doasOptions is OpenDoas 6.8.2's getopt string, "+C:Lnsu:" (plain
// getopt: no long options, no permutation).
var doasOptions = gnuOptions{short: "C:Lnsu:"}

func parseDoas(argv []string) (*Become, error) {
	b := &Become{Method: "doas", Program: argv[0], User: "root"}
	var config, shell bool
	s := newGnuScanner(&doasOptions, argv[1:])
	for {
		o, done, gerr := s.next()
		if gerr != nil {
			return nil, usageRefused("doas", "%s", gerr.msg)
		}
		if done {
			break
		}
		switch o.id {
		case "C":
			config = true
		case "L":
			// doas exits at -L, before it reads the options after it.
			return nil, notHonoured("doas", "-L clears the persisted authentication and exits")
		case "u":
			if o.arg == "" {
				return nil, usageRefused("doas", "unknown user") // no name and no number
			}
			b.User = o.arg
		case "n":
			b.NonInteractive = true
		case "s":
			shell = true
		}
	}
	cmd := s.args[s.optind:]
	switch {
	case config && shell:
		return nil, usageRefused("doas", "-C with -s")
	case config:
		return nil, notHonoured("doas", "-C checks a configuration file")
	case shell && len(cmd) > 0:
		return nil, usageRefused("doas", "-s with a command")
	case shell:
		return nil, notHonoured("doas", "-s runs an interactive shell")
	case len(cmd) == 0:
		return nil, usageRefused("doas", "no command")
	}
	b.Command = cmd
	return b, nil
}
