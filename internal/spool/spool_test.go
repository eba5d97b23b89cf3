package spool_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/spool"
	"github.com/scanforge/scanforge/models"
)

var quiet = slog.New(slog.DiscardHandler)

// newScans returns scans scan_FROM… with every column set, the visitor key too.
func newScans(from, n int) []models.Scan {
	out := make([]models.Scan, n)
	for i := range out {
		lat, lon := 48.8566+float64(i)/1000, 2.3522
		out[i] = models.Scan{
			ID: fmt.Sprintf("scan_%06d", from+i), WorkspaceID: "ws_1", CodeID: "code_1", Slug: "spring", CodeName: "Spring – poster ✓",
			Timestamp: time.Date(2026, 3, 1, 12, 0, 0, (from+i)*1000, time.UTC), Source: "qr", DestinationURL: "https://shop.example.com/spring?a=1&b=2",
			VisitorKey: fmt.Sprintf("%032x", i), Country: "France", CountryCode: "FR", Region: "Île-de-France", City: "Paris",
			Latitude: &lat, Longitude: &lon, Timezone: "Europe/Paris", DeviceType: "mobile", Browser: "Safari",
			BrowserVersion: "17.4", OS: "iOS", OSVersion: "17.4.1", Referrer: "https://ref.example/", UserAgent: "Mozilla/5.0 (iPhone)",
			IsBot: i%2 == 1, BotReason: "ua",
		}
		if i%2 == 0 { // traced; the others are not
			out[i].TraceParent = fmt.Sprintf("00-4bf92f3577b34da6a3ce929d0e%06d-00f067aa0ba902b7-01", from+i)
		}
	}
	return out
}

func open(t *testing.T, dir string, maxSegment int) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(dir, spool.Options{MaxSegmentScans: maxSegment, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp
}

// segments lists the segment files of dir in order.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "segment-*.spool"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	return paths
}

// readAll reads every scan on disk, segment by segment.
func readAll(t *testing.T, dir string) []models.Scan {
	t.Helper()
	var out []models.Scan
	for _, path := range segments(t, dir) {
		scans, dropped, err := spool.ReadFile(path)
		if err != nil || dropped != 0 {
			t.Fatalf("%s: %d bytes dropped, %v", path, dropped, err)
		}
		out = append(out, scans...)
	}
	return out
}

func ids(scans []models.Scan) []string {
	out := make([]string, len(scans))
	for i, sc := range scans {
		out[i] = sc.ID
	}
	return out
}

// What Append returned nil for is on disk, whole and in order, and a new
// Open (after the process ended) takes it as its backlog.
func TestAppendIsDurableAndReadBackInOrder(t *testing.T) {
	dir := t.TempDir()
	sp := open(t, dir, 0)
	want := newScans(0, 7)
	for _, part := range [][]models.Scan{want[:3], want[3:4], want[4:]} {
		if err := sp.Append(part); err != nil {
			t.Fatal(err)
		}
	}
	if sp.Backlog() != 7 || sp.Spooled() != 7 {
		t.Fatalf("backlog %d, spooled %d, want 7", sp.Backlog(), sp.Spooled())
	}
	if got := readAll(t, dir); !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n %+v\nwant\n %+v", got, want)
	}
	sp.Close()

	again := open(t, dir, 0)
	if again.Backlog() != 7 {
		t.Fatalf("reopened backlog %d, want 7", again.Backlog())
	}
	if err := again.Append(newScans(7, 1)); err != nil {
		t.Fatal(err)
	}
	if got := ids(readAll(t, dir)); !slices.Equal(got, ids(newScans(0, 8))) {
		t.Fatalf("after reopening and appending: %v", got)
	}
}

// A crash in the middle of a write leaves a torn record, never
// acknowledged: Open cuts it off, and what comes after it is readable.
func TestTornTailIsDroppedOnOpen(t *testing.T) {
	for name, damage := range map[string]func(record []byte) []byte{
		"half a record":     func(r []byte) []byte { return r[:len(r)/2] },
		"half a header":     func(r []byte) []byte { return r[:5] },
		"payload bit flip":  func(r []byte) []byte { r = slices.Clone(r); r[len(r)-3] ^= 0x20; return r },
		"length too large":  func(r []byte) []byte { r = slices.Clone(r); r[3] = 0x7f; return r },
		"zeroes (prealloc)": func(r []byte) []byte { return make([]byte, len(r)) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			sp := open(t, dir, 0)
			if err := sp.Append(newScans(0, 3)); err != nil {
				t.Fatal(err)
			}
			sp.Close()
			path := segments(t, dir)[0]
			before, _ := os.ReadFile(path)

			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(damage(encodedRecord(t, newScans(3, 1))))
			f.Close()
			if _, dropped, _ := spool.ReadFile(path); dropped == 0 {
				t.Fatal("the damaged record was read as valid")
			}

			again := open(t, dir, 0)
			if again.Backlog() != 3 {
				t.Fatalf("backlog %d after a torn record, want the 3 acknowledged scans", again.Backlog())
			}
			if after, _ := os.ReadFile(path); len(after) != len(before) {
				t.Fatalf("segment is %d bytes after Open, want %d: the torn record is cut off", len(after), len(before))
			}
			if err := again.Append(newScans(4, 1)); err != nil {
				t.Fatal(err)
			}
			if got := ids(readAll(t, dir)); !slices.Equal(got, []string{"scan_000000", "scan_000001", "scan_000002", "scan_000004"}) {
				t.Fatalf("read back %v", got)
			}
		})
	}
}

// encodedRecord returns the bytes Append writes for scans.
func encodedRecord(t *testing.T, scans []models.Scan) []byte {
	t.Helper()
	dir := t.TempDir()
	sp := open(t, dir, 0)
	if err := sp.Append(scans); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(segments(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Segments close at MaxSegmentScans; order holds across them and across
// a reopen.
func TestSegmentsKeepOrder(t *testing.T) {
	dir := t.TempDir()
	sp := open(t, dir, 4)
	for i := range 10 {
		if err := sp.Append(newScans(i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(segments(t, dir)); n != 3 {
		t.Fatalf("%d segments for 10 scans of at most 4, want 3", n)
	}
	sp.Close()
	again := open(t, dir, 4)
	if again.Backlog() != 10 {
		t.Fatalf("backlog %d, want 10", again.Backlog())
	}
	if got := ids(readAll(t, dir)); !slices.Equal(got, ids(newScans(0, 10))) {
		t.Fatalf("read back %v", got)
	}
}

// AppendIfBacklog writes nothing while the spool is empty (the redirect
// path does no disk I/O while the database answers), and appends behind a
// backlog.
func TestAppendIfBacklog(t *testing.T) {
	dir := t.TempDir()
	sp := open(t, dir, 0)
	if appended, err := sp.AppendIfBacklog(newScans(0, 2)); appended || err != nil {
		t.Fatalf("empty spool: appended %v, %v", appended, err)
	}
	if n := len(segments(t, dir)); n != 0 {
		t.Fatalf("an empty spool created %d segment files", n)
	}
	if err := sp.Append(newScans(2, 1)); err != nil {
		t.Fatal(err)
	}
	if appended, err := sp.AppendIfBacklog(newScans(3, 2)); !appended || err != nil {
		t.Fatalf("behind a backlog: appended %v, %v", appended, err)
	}
	if got := ids(readAll(t, dir)); !slices.Equal(got, ids(newScans(2, 3))) {
		t.Fatalf("read back %v", got)
	}
}

// Two processes on one directory would interleave their segments.
func TestOpenRefusesADirectoryInUse(t *testing.T) {
	dir := t.TempDir()
	sp := open(t, dir, 0)
	if _, err := spool.Open(dir, spool.Options{Logger: quiet}); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open: %v", err)
	}
	sp.Close()
	open(t, dir, 0) // free again
}

// A directory that cannot be created is a clear error, not a panic.
func TestOpenReportsAnUnusableDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := spool.Open(filepath.Join(file, "spool"), spool.Options{Logger: quiet}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Open under a file: %v", err)
	}
}
