package flagparse

import "strings"

// optstring is ssh.c's getopt string (with the 9.4 "P:").
const optstring = "1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy"

// getopt is OpenBSD's getopt(3) as bundled with portable OpenSSH: no
// permutation, "--" ends the options, "-" alone is an operand. args[0]
// plays the role of argv[0] and is never examined.
type getopt struct {
	args   []string
	optind int
	place  string
}

func newGetopt(args []string) *getopt { return &getopt{args: args, optind: 1} }

// next returns the next option and its argument; done is true at the
// first operand, at "--" or at the end of args.
func (g *getopt) next() (opt byte, arg string, done bool, err *Error) {
	if g.place == "" {
		if g.optind >= len(g.args) {
			return 0, "", true, nil
		}
		a := g.args[g.optind]
		if a == "" || a[0] != '-' || a == "-" {
			return 0, "", true, nil
		}
		if a == "--" {
			g.optind++
			return 0, "", true, nil
		}
		g.place = a[1:]
	}
	opt, g.place = g.place[0], g.place[1:]
	i := strings.IndexByte(optstring, opt)
	if opt == ':' || (opt == '-' && g.place != "") || i < 0 {
		if opt == '-' && g.place == "" {
			// "-a-": the trailing '-' ends scanning and the word stays
			// at optind, where ssh takes it as the destination.
			return 0, "", true, nil
		}
		if g.place == "" {
			g.optind++
		}
		return 0, "", false, usageErr("unknown option -- " + string(opt))
	}
	if i+1 >= len(optstring) || optstring[i+1] != ':' {
		if g.place == "" {
			g.optind++
		}
		return opt, "", false, nil
	}
	if g.place != "" {
		arg = g.place
	} else {
		g.optind++
		if g.optind >= len(g.args) {
			return 0, "", false, usageErr("option requires an argument -- " + string(opt))
		}
		arg = g.args[g.optind]
	}
	g.place = ""
	g.optind++
	return opt, arg, false, nil
}
