package sshconfig

// ForwardAgentPath is a ForwardAgent socket path expanded as ssh.c expands it before the
// session starts: a leading ~, then ${VAR} from getenv and the %-tokens ControlPath takes
// (default_client_percent_dollar_expand). An unset variable or an unknown token is an error,
// as ssh is fatal on either.
func (t *Target) ForwardAgentPath(p, home, localUser string, getenv Getenv) (string, error) {
	p, err := tildeExpand(p, home)
	if err != nil {
		return "", err
	}
	p, msgs, missing := dollarExpand(p, getenv)
	if err := expandFailure("forwardagent", msgs, missing); err != nil {
		return "", err
	}
	return percentExpand(p, t.dumpTokens(home, localUser))
}
