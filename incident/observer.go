package incident

// Observer is told of what the service did, for counters in metrics. Each method is
// called once per occurrence, after it is recorded; it must not block.
type Observer interface {
	// NagSent: the level-th update reminder was posted in the channel.
	NagSent(inc *Incident, level int)
}

// noObserver is the Observer of a service configured without one.
type noObserver struct{}

func (noObserver) NagSent(*Incident, int) {}
