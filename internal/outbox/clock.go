package outbox

import "time"

// Clock is the dispatcher's time: when it polls, how long it gathers scans
// into a pass, how long a delivery counts as in flight. Tests pass a fake.
type Clock interface {
	Now() time.Time
	// NewTicker, After and AfterFunc behave as the time package's
	// functions; AfterFunc returns its timer's Stop.
	NewTicker(d time.Duration) Ticker
	After(d time.Duration) <-chan time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Ticker is a time.Ticker as a Clock makes it.
type Ticker interface {
	Chan() <-chan time.Time
	Stop()
}

// realClock is the time package's clock, Options.Clock's default.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) NewTicker(d time.Duration) Ticker       { return realTicker{time.NewTicker(d)} }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

type realTicker struct{ *time.Ticker }

func (t realTicker) Chan() <-chan time.Time { return t.C }
