package scpserver

// ParseArgs recognises the command lines OpenSSH's scp -O runs on the remote side: "scp", then
// single-letter options among -t, -f, -r, -p and -d (separate or together), an optional "--",
// then one target (-t) or the files to send (-f). ok is false for anything else (-v, which
// makes scp print debug output, another program, a path that must be globbed), which then runs
// as ssh would run it.
func ParseArgs(argv []string) (req Request, ok bool) {
	if len(argv) < 3 || argv[0] != "scp" {
		return Request{}, false
	}
	var to, from bool
	i := 1
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for _, ch := range a[1:] {
			switch ch {
			case 't':
				to = true
			case 'f':
				from = true
			case 'r':
				req.Recursive = true
			case 'p':
				req.Preserve = true
			case 'd':
				req.TargetDir = true
			default:
				return Request{}, false
			}
		}
	}
	req.Paths = argv[i:]
	switch {
	case to == from, len(req.Paths) == 0, to && len(req.Paths) != 1:
		return Request{}, false
	}
	req.Sink = to
	return req, true
}
