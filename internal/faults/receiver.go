package faults

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/scanforge/scanforge/webhook"
)

// Receiver behaviours.
const (
	receiverNormal = "normal" // 503 to some first attempts, 204 otherwise
	receiverHang   = "hang"   // answers nothing until the sender gives up
)

// receiver is the webhook endpoint: it verifies signatures, fails some
// first attempts (every failEvery-th event, chosen by its id), and records
// every accepted delivery by event id (the webhook-id header) with the
// scan's referrer, which names the load request it came from.
type receiver struct {
	addr      string // fixed, so that it can go down and come back
	failEvery int

	mu        sync.Mutex
	secret    string
	mode      string
	srv       *http.Server
	attempts  map[string]int      // by event id, accepted or not
	delivered map[string]delivery // by event id
	invalid   int
}

// delivery is what the receiver accepted for one event id.
type delivery struct {
	Referrer string
	First    time.Time
	Count    int // accepted deliveries of this id: 2 or more is a duplicate
}

func newReceiver(failEvery int) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{
		addr: ln.Addr().String(), failEvery: failEvery, mode: receiverNormal,
		attempts: map[string]int{}, delivered: map[string]delivery{},
	}
	r.serve(ln)
	return r, nil
}

func (r *receiver) url() string { return "http://" + r.addr + "/hook" }

func (r *receiver) setSecret(s string) { r.mu.Lock(); r.secret = s; r.mu.Unlock() }

func (r *receiver) setMode(m string) { r.mu.Lock(); r.mode = m; r.mu.Unlock() }

func (r *receiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// down closes the listener and every connection: senders get refused.
func (r *receiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// up listens again on the same address.
func (r *receiver) up() error {
	var ln net.Listener
	var err error
	for range 50 { // the port may be briefly held by closing connections
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			r.serve(ln)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (r *receiver) close() { r.down() }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, webhook.MaxBodyBytes))
	if err != nil {
		return
	}
	r.mu.Lock()
	secret, mode := r.secret, r.mode
	r.mu.Unlock()
	if mode == receiverHang {
		// Past the sender's timeout; never recorded as delivered.
		select {
		case <-req.Context().Done():
		case <-time.After(10 * time.Minute):
		}
		return
	}
	eventID := req.Header.Get("webhook-id")
	ref, err := r.check(secret, req.Header, body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.invalid++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	r.attempts[eventID]++
	if r.attempts[eventID] == 1 && r.failEvery > 0 && pick(eventID, r.failEvery) {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	d, seen := r.delivered[eventID]
	if !seen {
		d = delivery{Referrer: ref, First: time.Now()}
	}
	d.Count++
	r.delivered[eventID] = d
	w.WriteHeader(http.StatusNoContent)
}

// pick chooses one event id in every n, stably.
func pick(id string, n int) bool {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()%uint32(n) == 0
}

func (r *receiver) check(secret string, h http.Header, body []byte) (string, error) {
	if h.Get("webhook-id") == "" {
		return "", errors.New("no webhook-id")
	}
	if err := webhook.Verify(secret, h, body, 0, time.Now()); err != nil {
		return "", err
	}
	ev, err := webhook.ParseEvent(body)
	if err != nil {
		return "", err
	}
	if ev.ID != h.Get("webhook-id") {
		return "", errors.New("webhook-id is not the event's id")
	}
	data, err := ev.ScanCreated()
	if err != nil {
		return "", err
	}
	return data.Referrer, nil
}

// deliveriesOf returns the accepted deliveries whose referrer starts with
// prefix, by event id.
func (r *receiver) deliveriesOf(prefix string) map[string]delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]delivery{}
	for id, d := range r.delivered {
		if strings.HasPrefix(d.Referrer, prefix) {
			out[id] = d
		}
	}
	return out
}

func (r *receiver) invalidCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.invalid
}

// waitCtx waits d and reports false if ctx ended first.
func waitCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
