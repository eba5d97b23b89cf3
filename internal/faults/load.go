package faults

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// phoneUA is the User-Agent of every scan: a phone, so no bot verdict.
const phoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// markerBase prefixes the Referer of every scan: marker base/SCENARIO/SEQ.
const markerBase = "https://faults.invalid/"

func marker(scenario string, seq int) string {
	return markerBase + scenario + "/" + strconv.Itoa(seq)
}

// answer is the outcome of one scan request.
type answer struct {
	Referrer string
	Status   int // 0: no HTTP answer
	Err      string
	At       time.Time // answered (or failed)
}

// balancer spreads scans over the serve replicas round robin, as a
// client-side load balancer would: a refused connection (the replica is
// down) is tried on the next replica.
type balancer struct {
	targets []string // base URLs
	client  *http.Client
	next    atomic.Uint64
}

func newBalancer(targets []string) *balancer {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.MaxIdleConnsPerHost = 64
	return &balancer{
		targets: targets,
		client: &http.Client{
			Transport:     t,
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

func (b *balancer) scan(ctx context.Context, path, referrer string) answer {
	first := int(b.next.Add(1))
	var err error
	for i := range b.targets {
		target := b.targets[(first+i)%len(b.targets)]
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, target+path, nil)
		req.Header.Set("User-Agent", phoneUA)
		req.Header.Set("Referer", referrer)
		var res *http.Response
		res, err = b.client.Do(req)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue
			}
			break
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return answer{Referrer: referrer, Status: res.StatusCode, At: time.Now()}
	}
	return answer{Referrer: referrer, Err: shortErr(err), At: time.Now()}
}

func shortErr(err error) string {
	if err == nil {
		return "no replica"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// load sends scans of path at rate per second (open loop) until stopped.
type load struct {
	mu      sync.Mutex
	answers []answer
	stop    chan struct{}
	done    chan struct{}
}

func startLoad(ctx context.Context, b *balancer, path, scenario string, rate float64) *load {
	l := &load{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		var wg sync.WaitGroup
		start := time.Now()
		for seq := 0; ; seq++ {
			due := start.Add(time.Duration(float64(seq) / rate * float64(time.Second)))
			select {
			case <-time.After(time.Until(due)):
			case <-l.stop:
				wg.Wait()
				return
			case <-ctx.Done():
				wg.Wait()
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := b.scan(ctx, path, marker(scenario, seq))
				l.mu.Lock()
				l.answers = append(l.answers, a)
				l.mu.Unlock()
			}()
		}
	}()
	return l
}

// finish stops sending and returns every answer once all are in.
func (l *load) finish() []answer {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answers
}

func (a answer) String() string {
	if a.Status != 0 {
		return strconv.Itoa(a.Status)
	}
	return fmt.Sprintf("error: %s", a.Err)
}
