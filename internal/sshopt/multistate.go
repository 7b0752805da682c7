package sshopt

// Multistates are readconf.c's multistate tables, keyed by the canonical
// keyword ("flag" for the plain yes/no keywords): accepted word, ASCII
// lowercase (ssh compares with strcasecmp) -> the value ssh stores.
var Multistates = map[string]map[string]string{
	"flag":                  {"yes": "yes", "true": "yes", "no": "no", "false": "no"},
	"pubkeyauthentication":  {"yes": "yes", "true": "yes", "no": "no", "false": "no", "unbound": "unbound", "host-bound": "host-bound"},
	"stricthostkeychecking": {"yes": "yes", "true": "yes", "no": "no", "false": "no", "off": "no", "ask": "ask", "accept-new": "accept-new"},
	"verifyhostkeydns":      {"yes": "yes", "true": "yes", "no": "no", "false": "no", "ask": "ask"},
	"updatehostkeys":        {"yes": "yes", "true": "yes", "no": "no", "false": "no", "ask": "ask"},
	"addressfamily":         {"inet": "inet", "inet6": "inet6", "any": "any"},
	"controlmaster":         {"yes": "yes", "true": "yes", "no": "no", "false": "no", "auto": "auto", "ask": "ask", "autoask": "autoask"},
	"tunnel":                {"yes": "yes", "true": "yes", "no": "no", "false": "no", "ethernet": "ethernet", "point-to-point": "point-to-point"},
	"requesttty":            {"yes": "yes", "true": "yes", "no": "no", "false": "no", "force": "force", "auto": "auto"},
	"sessiontype":           {"none": "none", "subsystem": "subsystem", "default": "default"},
	"canonicalizehostname":  {"yes": "yes", "true": "yes", "no": "no", "false": "no", "always": "always"},
	// multistate_compression: "true" and "false" are refused.
	"compression": {"yes": "yes", "no": "no"},
}

// Multistate looks word up in the table of keyword (see Multistates): the
// value ssh stores, and whether ssh accepts the word.
func Multistate(keyword, word string) (string, bool) {
	v, ok := Multistates[keyword][ASCIILower(word)]
	return v, ok
}
