package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scanforge/scanforge/webhook"
)

// receiver is the webhook endpoint of a benchmark: it verifies every
// delivery's signature and counts valid ones by event ID and path (one
// path per endpoint), grouped by the marker the scan carried in its
// Referer ("…/GROUP/SEQ").
type receiver struct {
	srv *http.Server
	url string

	mu       sync.Mutex
	secrets  map[string]string  // by path
	arrivals map[string]arrival // by event ID and path
	groups   map[string]*groupCount
	invalid  int
	changed  chan struct{} // closed and replaced on every valid delivery
}

// arrival is the first valid delivery of one event.
type arrival struct {
	At    time.Time
	Group string
	Seq   string
	Count int
}

type groupCount struct {
	Unique     int
	Duplicates int
	Last       time.Time
}

func startReceiver(secret string) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{
		url:      "http://" + ln.Addr().String() + "/webhooks",
		secrets:  map[string]string{"/webhooks": secret},
		arrivals: map[string]arrival{},
		groups:   map[string]*groupCount{},
		changed:  make(chan struct{}),
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) setSecret(secret string) { r.setPathSecret("/webhooks", secret) }

// endpointURL is the URL of the receiver's n-th extra endpoint.
func (r *receiver) endpointURL(n int) string { return r.url + "/" + strconv.Itoa(n) }

// setPathSecret sets the signing secret of the endpoint at path.
func (r *receiver) setPathSecret(path, secret string) {
	r.mu.Lock()
	r.secrets[path] = secret
	r.mu.Unlock()
}

func (r *receiver) close() { _ = r.srv.Close() }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, err := io.ReadAll(io.LimitReader(req.Body, webhook.MaxBodyBytes))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	secret := r.secrets[req.URL.Path]
	r.mu.Unlock()
	group, seq, eventID, ok := r.check(secret, req.Header, body, now)
	eventID += " " + req.URL.Path
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok {
		r.invalid++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	a, seen := r.arrivals[eventID]
	g := r.groups[group]
	if g == nil {
		g = &groupCount{}
		r.groups[group] = g
	}
	if seen {
		a.Count++
		g.Duplicates++
	} else {
		a = arrival{At: now, Group: group, Seq: seq, Count: 1}
		g.Unique++
		g.Last = now
	}
	r.arrivals[eventID] = a
	close(r.changed)
	r.changed = make(chan struct{})
	w.WriteHeader(http.StatusNoContent)
}

// check verifies the signature and reads the event ID and the marker.
func (r *receiver) check(secret string, h http.Header, body []byte, now time.Time) (group, seq, eventID string, ok bool) {
	if err := webhook.Verify(secret, h, body, 0, now); err != nil {
		return "", "", "", false
	}
	ev, err := webhook.ParseEvent(body)
	if err != nil {
		return "", "", "", false
	}
	data, err := ev.ScanCreated()
	if err != nil {
		return "", "", "", false
	}
	group, seq = splitMarker(data.Referrer)
	return group, seq, ev.ID, true
}

// marker is the Referer of the seq-th scan of group.
func marker(group string, seq int) string {
	return "https://bench.invalid/" + group + "/" + strconv.Itoa(seq)
}

func splitMarker(ref string) (group, seq string) {
	rest, ok := strings.CutPrefix(ref, "https://bench.invalid/")
	if !ok {
		return "", ""
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return rest, ""
	}
	return rest[:i], rest[i+1:]
}

// groupStats returns the counts of group and the first arrival of each of
// its events by sequence number.
func (r *receiver) groupStats(group string) (groupCount, map[string]time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	firsts := map[string]time.Time{}
	for _, a := range r.arrivals {
		if a.Group == group {
			firsts[a.Seq] = a.At
		}
	}
	var g groupCount
	if p := r.groups[group]; p != nil {
		g = *p
	}
	return g, firsts
}

func (r *receiver) invalidCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.invalid
}

// waitFor waits until group has want unique events, or nothing new arrived
// for idle, or ctx ends. It reports the unique count reached.
func (r *receiver) waitFor(ctx context.Context, group string, want int, idle time.Duration) int {
	for {
		r.mu.Lock()
		n := 0
		if g := r.groups[group]; g != nil {
			n = g.Unique
		}
		changed := r.changed
		r.mu.Unlock()
		if n >= want {
			return n
		}
		select {
		case <-changed:
		case <-time.After(idle):
			return n
		case <-ctx.Done():
			return n
		}
	}
}
