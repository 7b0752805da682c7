package daemon

import "testing"

func TestBulkCommand(t *testing.T) {
	for cmd, want := range map[string]bool{
		"rsync --server -logDtpre.iLsfxCIvu . /dst/":             true,
		"rsync --server --sender -logDtpre.iLsfxCIvu . /src/":    true,
		"/usr/local/bin/rsync  --server -e.iLsfxCIvu . /dst/":    true,
		"sudo -u svc rsync --server -logDtpre.iLsfxCIvu . /dst/": false, // a become step of its own
		"rsync --version":    false,
		"rsync --serverless": false,
		"cat big":            false,
		"":                   false,
	} {
		if got := bulkCommand(cmd); got != want {
			t.Errorf("bulkCommand(%q) = %v, want %v", cmd, got, want)
		}
	}
}
