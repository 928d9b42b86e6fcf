package ebpf

// UnavailableError says why the eBPF capture cannot run on this host. Its
// text is the reason, as legacy_ports_info shows it.
type UnavailableError struct {
	Reason string
	Err    error // the underlying error, if any
}

func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *UnavailableError) Unwrap() error { return e.Err }

func unavailable(reason string, err error) error {
	return &UnavailableError{Reason: reason, Err: err}
}
