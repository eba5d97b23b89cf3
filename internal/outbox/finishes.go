package outbox

import "sync"

// Finishes carries word that a delivery's attempt has ended from the attempt
// activity to the dispatcher, when both run in one process: the dispatcher
// then frees the delivery's in-flight token at once instead of waiting for
// the workflow's result from the server.
type Finishes struct {
	mu      sync.Mutex
	waiting map[string]chan struct{}
}

// NewFinishes returns an empty Finishes.
func NewFinishes() *Finishes {
	return &Finishes{waiting: make(map[string]chan struct{})}
}

// AttemptFinished tells the dispatcher that an attempt of the delivery with
// workflowID has ended, whatever its outcome: a delivery that must retry now
// waits on a durable timer and costs nothing while it waits.
func (f *Finishes) AttemptFinished(workflowID string) {
	f.mu.Lock()
	ch, ok := f.waiting[workflowID]
	if ok {
		delete(f.waiting, workflowID)
	}
	f.mu.Unlock()
	if ok {
		close(ch)
	}
}

// watch returns a channel closed when an attempt of workflowID ends, and a
// function that stops watching. Watch before starting: with an eager start
// the attempt can end before the start call returns.
func (f *Finishes) watch(workflowID string) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.waiting[workflowID] = ch
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		if f.waiting[workflowID] == ch {
			delete(f.waiting, workflowID)
		}
		f.mu.Unlock()
	}
}
