package sshconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mitogen-go/mitogend/internal/syserr"
)

// include processes an Include line. Files are read with the including
// block's active state, and that state is restored afterwards so a Host or
// Match inside an included file cannot leak out of it.
func (p *parser) include(src source, name string, args []string, active *bool, depth int) ([]string, error) {
	for _, a := range args {
		if a == "" {
			return []string{lineMsg(src.file, src.line, "keyword %s empty argument", name)}, nil
		}
		if strings.HasPrefix(a, "~") && !src.user {
			return []string{lineMsg(src.file, src.line, "bad include path %s.", a)}, nil
		}
		pattern := a
		if !filepath.IsAbs(a) && !strings.HasPrefix(a, "~") {
			if src.user {
				pattern = "~/.ssh/" + a
			} else {
				pattern = systemDir + "/" + a
			}
		}
		expanded, err := tildeExpand(pattern, p.in.Home)
		if err != nil {
			return []string{lineMsg(src.file, src.line, "glob failed for %s.", pattern)}, nil
		}
		matches, err := filepath.Glob(expanded)
		if err != nil {
			return []string{lineMsg(src.file, src.line, "glob failed for %s.", pattern)}, nil
		}
		outer := *active
		for _, m := range matches {
			_, err := p.readFile(m, src.user, true, src.neverMatch || !outer, active, depth+1)
			*active = outer
			var ce *ConfigError
			if errors.As(err, &ce) {
				return nil, err
			}
			if err != nil {
				return []string{fmt.Sprintf("Can't open user config file %s: %s", m, syserr.Text(err))}, nil
			}
		}
	}
	return nil, nil
}

// permProblem refuses files others could have written, as ssh does for the
// user's config and every included file.
func permProblem(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if (st.Uid != 0 && int(st.Uid) != os.Getuid()) || fi.Mode().Perm()&0o022 != 0 {
		return "Bad owner or permissions on " + path
	}
	return ""
}
