package daemon

// registerControl offers the services behind fakessh -O (check, exit, stop) for one destination.
func (d *Daemon) registerControl() {}
