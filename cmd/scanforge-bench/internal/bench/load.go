package bench

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// iPhoneSafari is the User-Agent of every scan: a real phone, so enrichment
// does its full work and the bot check says no.
const iPhoneSafari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// shot is one request of a run.
type shot struct {
	At     time.Time // when it was sent (closed loop) or due (fixed rate)
	Done   time.Time
	Status int
	Err    error
}

func (s shot) ok() bool { return s.Err == nil && s.Status == http.StatusFound }

// run is the outcome of one load run.
type run struct {
	Shots   []shot
	Elapsed time.Duration
}

// Figures are the numbers of one load run against one target.
type Figures struct {
	Concurrency int     `json:"concurrency,omitempty"` // closed loop only
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"requests_per_second"`
	Latency     Latency `json:"latency"`
	CPUSeconds  float64 `json:"server_cpu_seconds"`
	// CPUPerRequestMS is the server process's CPU time per request.
	CPUPerRequestMS float64 `json:"server_cpu_ms_per_request"`
	// ClientCPUPerRequestMS is the load generator's (this process's).
	ClientCPUPerRequestMS float64 `json:"client_cpu_ms_per_request"`
	// DatabaseCPUPerRequestMS is the database server's (PostgreSQL on this
	// machine; 0 for SQLite, which runs inside the server process).
	DatabaseCPUPerRequestMS float64 `json:"database_cpu_ms_per_request"`
	// ScansPerCommit is the mean group-commit batch of the recorder during
	// the run (from the process's /metrics; 0 for the bare handler).
	ScansPerCommit float64 `json:"scans_per_commit,omitempty"`
	// CoresBusy is the CPU of server, database and load generator together
	// per second of the run: the machine's cores minus this sat idle.
	CoresBusy float64 `json:"cores_busy"`
}

func (r run) figures() Figures {
	lat := make([]time.Duration, 0, len(r.Shots))
	errs := 0
	for _, s := range r.Shots {
		if !s.ok() {
			errs++
			continue
		}
		lat = append(lat, s.Done.Sub(s.At))
	}
	secs := r.Elapsed.Seconds()
	return Figures{
		Requests:  len(r.Shots),
		Errors:    errs,
		Seconds:   round(secs, 3),
		PerSecond: round(float64(len(r.Shots)-errs)/secs, 1),
		Latency:   summarise(lat),
	}
}

// newLoadClient returns an HTTP client that keeps up to conns connections
// alive to one host and never follows the redirect it measures.
func newLoadClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.MaxIdleConns = conns * 2
	t.MaxIdleConnsPerHost = conns * 2
	t.DisableCompression = true
	return &http.Client{
		Transport:     t,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// scanRequest builds the i-th scan of a run: a phone opening url, with the
// run's marker in the Referer so its webhook can be matched to it.
func scanRequest(url string, referrer func(i int) string) func(i int) *http.Request {
	return func(i int) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("User-Agent", iPhoneSafari)
		req.Header.Set("Accept-Language", "en-GB,en;q=0.9")
		if referrer != nil {
			req.Header.Set("Referer", referrer(i))
		}
		return req
	}
}

func fire(client *http.Client, req *http.Request, at time.Time) shot {
	s := shot{At: at}
	res, err := client.Do(req)
	if err != nil {
		s.Err, s.Done = err, time.Now()
		return s
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	s.Status, s.Done = res.StatusCode, time.Now()
	return s
}

// closedLoop sends n requests from c workers, each sending its next request
// as soon as the previous one is answered: the server's capacity.
func closedLoop(ctx context.Context, client *http.Client, n, c int, newReq func(i int) *http.Request) run {
	shots := make([]shot, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				shots[i] = fire(client, newReq(i).WithContext(ctx), time.Now())
			}
		}()
	}
	wg.Wait()
	r := run{Shots: shots, Elapsed: time.Since(start)}
	if ctx.Err() != nil {
		r.Shots = sent(shots)
	}
	return r
}

// fixedRate sends n requests at rate per second whatever the answers do
// (open loop). Latency counts from the time a request was due, so a stalled
// server is not hidden by requests that were never sent (coordinated
// omission).
func fixedRate(ctx context.Context, client *http.Client, n int, rate float64, newReq func(i int) *http.Request) run {
	shots := make([]shot, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			shots[i] = fire(client, newReq(i).WithContext(ctx), due)
		}()
	}
	wg.Wait()
	r := run{Shots: shots, Elapsed: time.Since(start)}
	if ctx.Err() != nil {
		r.Shots = sent(shots)
	}
	return r
}

// sent drops the shots a cancelled run never sent.
func sent(shots []shot) []shot {
	out := shots[:0:0]
	for _, s := range shots {
		if !s.At.IsZero() {
			out = append(out, s)
		}
	}
	return out
}
