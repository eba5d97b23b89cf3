// Package spool keeps scans on the replica's local disk while the database
// does not take them. The spool is an append-only log cut into segment
// files; each record is framed with its length and CRC-32C, and Append
// returns only once its records are synced, so an acknowledged scan
// survives a crash of the process or the machine. A record torn by a crash
// in the middle of a write was never acknowledged: reading stops there and
// it is dropped. A Mover puts the spooled scans into the database when it
// answers again, oldest segment first, and removes each segment once every
// one of its scans is stored.
package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/scanforge/scanforge/models"
)

const (
	segmentPrefix  = "segment-"
	segmentSuffix  = ".spool"
	quarantineName = "quarantine.spool"
	lockName       = "LOCK"
)

// Options tune a Spool.
type Options struct {
	// MaxSegmentScans closes a segment after this many scans, so that the
	// mover reads and removes the spool in bounded pieces. Default 4096.
	MaxSegmentScans int
	Logger          *slog.Logger // default slog.Default()
}

// Spool is the on-disk queue of one process. Open it, Append from one
// goroutine or many, and let a Mover drain it.
type Spool struct {
	dir        string
	lock       *os.File // held (flock) while open: one process per directory
	maxSegment int
	logger     *slog.Logger
	wake       chan struct{} // signalled by every Append, for the mover

	mu          sync.Mutex
	active      *os.File // the segment being appended to; nil until the next Append
	activeSeq   uint64
	activeScans int
	activeSize  int64
	sealed      []segment // closed segments not yet moved, oldest first
	nextSeq     uint64
	quarantine  *os.File
	buf         []byte

	backlog atomic.Int64 // scans spooled and not yet moved
	spooled atomic.Int64 // scans appended since Open
}

// segment is a closed segment file waiting for the mover.
type segment struct {
	seq   uint64
	path  string
	scans int
}

// Open opens the spool in dir, creating dir if needed, and takes the
// segments a previous process left there (a crash while the database was
// down): they come first in the backlog. A torn record at the end of a
// segment is cut off. Only one process may have a directory open.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.MaxSegmentScans <= 0 {
		opts.MaxSegmentScans = 4096
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	s := &Spool{dir: dir, lock: lock, maxSegment: opts.MaxSegmentScans, logger: opts.Logger,
		wake: make(chan struct{}, 1), nextSeq: 1}
	if err := s.recover(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	return s, nil
}

// recover takes the segments left in the directory, oldest first.
func (s *Spool) recover() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		seq, ok := segmentSeq(e.Name())
		if !ok {
			continue
		}
		path := filepath.Join(s.dir, e.Name())
		scans, valid, size, err := readSegment(path)
		if err != nil {
			return err
		}
		if valid < size {
			// Never acknowledged: Append syncs before it returns.
			s.logger.Warn("spool: torn record at the end of a segment dropped", "segment", path, "bytes", size-valid)
			if err := os.Truncate(path, valid); err != nil {
				return fmt.Errorf("cut torn record: %w", err)
			}
		}
		if len(scans) == 0 {
			if err := os.Remove(path); err != nil {
				return err
			}
			continue
		}
		s.sealed = append(s.sealed, segment{seq: seq, path: path, scans: len(scans)})
		s.backlog.Add(int64(len(scans)))
		s.nextSeq = max(s.nextSeq, seq+1)
	}
	slices.SortFunc(s.sealed, func(a, b segment) int { return compareSeq(a.seq, b.seq) })
	if n := s.backlog.Load(); n > 0 {
		s.logger.Warn("spool: scans left by an earlier run will be moved into the database", "scans", n, "segments", len(s.sealed), "dir", s.dir)
		s.signal()
	}
	return nil
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func segmentName(seq uint64) string {
	return fmt.Sprintf("%s%020d%s", segmentPrefix, seq, segmentSuffix)
}

func segmentSeq(name string) (uint64, bool) {
	digits, ok := strings.CutPrefix(name, segmentPrefix)
	if !ok {
		return 0, false
	}
	digits, ok = strings.CutSuffix(digits, segmentSuffix)
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	return seq, err == nil
}

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Backlog is the number of scans spooled and not yet moved.
func (s *Spool) Backlog() int64 { return s.backlog.Load() }

// Spooled is the number of scans appended since Open.
func (s *Spool) Spooled() int64 { return s.spooled.Load() }

// Append writes scans at the end of the spool and syncs them to disk; when
// it returns nil they survive a crash. On an error none of them is
// acknowledged; those written whole before it may still be moved.
func (s *Spool) Append(scans []models.Scan) error {
	if len(scans) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(scans)
}

// AppendIfBacklog appends scans, as Append does, only while the spool holds
// scans not yet moved: scans that come after spooled ones follow them, so
// that the database receives every scan in the order it was recorded.
// appended is false when the spool was empty, or when the append failed
// (err says why).
func (s *Spool) AppendIfBacklog(scans []models.Scan) (appended bool, err error) {
	if s.backlog.Load() == 0 { // an atomic read: the only cost while the database answers
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.backlog.Load() == 0 { // the mover emptied it meanwhile
		return false, nil
	}
	if err := s.appendLocked(scans); err != nil {
		return false, err
	}
	return true, nil
}

func (s *Spool) appendLocked(scans []models.Scan) (err error) {
	if s.active == nil {
		if err := s.startSegment(); err != nil {
			return err
		}
	}
	s.buf, err = appendRecords(s.buf[:0], scans)
	if err != nil {
		return err
	}
	if _, err := s.active.Write(s.buf); err != nil {
		return s.abandonActive(fmt.Errorf("spool: write: %w", err))
	}
	if err := s.active.Sync(); err != nil {
		return s.abandonActive(fmt.Errorf("spool: sync: %w", err))
	}
	s.activeScans += len(scans)
	s.activeSize += int64(len(s.buf))
	s.backlog.Add(int64(len(scans)))
	s.spooled.Add(int64(len(scans)))
	if s.activeScans >= s.maxSegment {
		if err := s.sealActive(); err != nil {
			s.logger.Warn("spool: closing a full segment", "error", err)
		}
	}
	s.signal()
	return nil
}

// startSegment creates the next segment file and makes its name durable.
func (s *Spool) startSegment() error {
	seq := s.nextSeq
	path := filepath.Join(s.dir, segmentName(seq))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("spool: %w", err)
	}
	s.nextSeq++
	s.active, s.activeSeq, s.activeScans, s.activeSize = f, seq, 0, 0
	return nil
}

// abandonActive handles a failed write or sync: what the segment holds
// past its last acknowledged record is unknown, so it is cut back to that
// record and closed; the next Append starts a new segment, never writing
// after a torn record that would hide it from the reader.
func (s *Spool) abandonActive(cause error) error {
	if err := s.active.Truncate(s.activeSize); err != nil {
		cause = errors.Join(cause, fmt.Errorf("spool: cut back: %w", err))
	}
	if err := s.sealActive(); err != nil {
		cause = errors.Join(cause, err)
	}
	return cause
}

// sealActive closes the active segment; if it holds scans, the mover takes
// it after the segments before it.
func (s *Spool) sealActive() error {
	if s.active == nil {
		return nil
	}
	err := s.active.Close()
	path := filepath.Join(s.dir, segmentName(s.activeSeq))
	if s.activeScans > 0 {
		s.sealed = append(s.sealed, segment{seq: s.activeSeq, path: path, scans: s.activeScans})
	} else if rmErr := os.Remove(path); rmErr != nil {
		err = errors.Join(err, rmErr)
	}
	s.active = nil
	return err
}

func (s *Spool) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// oldest returns the oldest segment not yet moved, closing the active one
// when it is the last; false when the backlog is empty.
func (s *Spool) oldest() (segment, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if len(s.sealed) == 0 {
		err = s.sealActive()
	}
	if len(s.sealed) == 0 {
		return segment{}, false, err
	}
	return s.sealed[0], true, nil
}

// remove deletes seg, the oldest segment, once its scans are stored.
func (s *Spool) remove(seg segment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sealed) == 0 || s.sealed[0].seq != seg.seq {
		return fmt.Errorf("spool: segment %d is not the oldest", seg.seq)
	}
	// Removed from the backlog first: if the file stays, it is moved again
	// at the next start, and the database keeps each scan once.
	s.sealed = s.sealed[1:]
	s.backlog.Add(-int64(seg.scans))
	if err := os.Remove(seg.path); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// quarantineScans appends scans the database refuses to the quarantine
// file of the directory, synced, where an operator can read them back.
func (s *Spool) quarantineScans(scans []models.Scan) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := filepath.Join(s.dir, quarantineName)
	if s.quarantine == nil {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return path, fmt.Errorf("spool: %w", err)
		}
		s.quarantine = f
	}
	buf, err := appendRecords(nil, scans)
	if err != nil {
		return path, err
	}
	if _, err := s.quarantine.Write(buf); err != nil {
		return path, fmt.Errorf("spool: quarantine: %w", err)
	}
	if err := s.quarantine.Sync(); err != nil {
		return path, fmt.Errorf("spool: quarantine: %w", err)
	}
	return path, nil
}

// Close closes the files and releases the directory. Scans not yet moved
// stay on disk for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.active != nil {
		errs = append(errs, s.active.Close())
		s.active = nil
	}
	if s.quarantine != nil {
		errs = append(errs, s.quarantine.Close())
		s.quarantine = nil
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close()) // releases the flock
		s.lock = nil
	}
	return errors.Join(errs...)
}
