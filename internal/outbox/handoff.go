package outbox

// The handoff: the recorder gives the dispatcher the scans it has just
// made pending, in memory, so the common path never reads a scan back.

import "github.com/scanforge/scanforge/models"

// Handoff gives the dispatcher scans that have just been committed
// pending (Writer.InsertScans's answer); it does not keep the slice. It
// never blocks: past MaxHandoff the scans are left to the poll.
func (d *Dispatcher) Handoff(pending []models.Scan) {
	if len(pending) == 0 {
		return // most scans are of codes without webhooks: often none
	}
	d.mu.Lock()
	if len(d.handed)+len(pending) <= d.opts.MaxHandoff {
		d.handed = append(d.handed, pending...)
	} else {
		// Drop them all: the database has every one, and the poll that
		// overflow asks for reads them from there, oldest first.
		d.handed, d.overflow = d.handed[:0], true
	}
	d.mu.Unlock()
	d.notify()
}

// Wake tells the dispatcher that scans were committed elsewhere (by serve,
// when the worker drains): it reads every pending scan at once.
func (d *Dispatcher) Wake() {
	d.mu.Lock()
	d.overflow = true
	d.mu.Unlock()
	d.notify()
}

func (d *Dispatcher) notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// take removes and returns up to BatchSize handed-over scans, or reports
// that Handoff overflowed since the last call: then it drops what was
// handed over since (the poll that follows reads it from the database).
func (d *Dispatcher) take() (scans []models.Scan, overflow bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.overflow {
		d.handed, d.overflow = d.handed[:0], false
		return nil, true
	}
	n := min(len(d.handed), d.opts.BatchSize)
	scans = append([]models.Scan(nil), d.handed[:n]...)
	d.handed = append(d.handed[:0], d.handed[n:]...)
	return scans, false
}

func (d *Dispatcher) dropHanded() {
	d.mu.Lock()
	d.handed = d.handed[:0]
	d.mu.Unlock()
}
