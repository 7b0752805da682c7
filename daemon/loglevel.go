package daemon

// hidesInfo says whether a caller's LogLevel (proto.ConnectRequest.LogLevel) is below INFO, so
// that what ssh logs with logit is not shown to it.
func hidesInfo(level string) bool {
	switch level {
	case "quiet", "fatal", "error":
		return true
	}
	return false
}
