package workflows_test

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scanforge/scanforge/workflows"
)

func TestBackoffWithoutJitterDoublesUpToTheCap(t *testing.T) {
	s := workflows.DefaultRetrySchedule()
	s.Jitter = 0
	want := []time.Duration{
		10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 320 * time.Second, 640 * time.Second, 1280 * time.Second,
		2560 * time.Second, 5120 * time.Second, 2 * time.Hour, 2 * time.Hour,
	}
	for i, w := range want {
		if got := s.Backoff(i+1, "seed"); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	// Far beyond the cap the power overflows; the cap must still hold.
	if got := s.Backoff(10_000, "seed"); got != 2*time.Hour {
		t.Errorf("Backoff(10000) = %v, want the 2h cap", got)
	}
	if got := s.Backoff(0, "seed"); got != 10*time.Second {
		t.Errorf("Backoff(0) = %v, want the initial interval", got)
	}
}

func TestBackoffJitterIsBoundedAndDeterministic(t *testing.T) {
	s := workflows.DefaultRetrySchedule()
	plain := s
	plain.Jitter = 0
	seeds := []string{"evt_1:ep_1", "evt_2:ep_1", "evt_1:ep_2", "x"}
	for _, seed := range seeds {
		for attempt := 1; attempt <= 30; attempt++ {
			base := plain.Backoff(attempt, seed)
			got := s.Backoff(attempt, seed)
			low := time.Duration(float64(base) * (1 - s.Jitter))
			high := min(time.Duration(float64(base)*(1+s.Jitter)), s.MaxInterval)
			if got < low || got > high {
				t.Errorf("Backoff(%d, %q) = %v, outside [%v, %v]", attempt, seed, got, low, high)
			}
			if again := s.Backoff(attempt, seed); again != got {
				t.Errorf("Backoff(%d, %q) gave %v then %v", attempt, seed, got, again)
			}
		}
	}
	// Different deliveries spread out instead of retrying in lockstep.
	distinct := map[time.Duration]bool{}
	for _, seed := range seeds {
		distinct[s.Backoff(3, seed)] = true
	}
	if len(distinct) < 3 {
		t.Errorf("jitter gave %d distinct waits for %d seeds", len(distinct), len(seeds))
	}
}

func TestValidate(t *testing.T) {
	if err := workflows.DefaultRetrySchedule().Validate(); err != nil {
		t.Errorf("default schedule: %v", err)
	}
	cases := map[string]func(*workflows.RetrySchedule){
		"initial interval": func(s *workflows.RetrySchedule) { s.InitialInterval = 0 },
		"coefficient":      func(s *workflows.RetrySchedule) { s.Coefficient = 0.5 },
		"max interval":     func(s *workflows.RetrySchedule) { s.MaxInterval = time.Second },
		"horizon":          func(s *workflows.RetrySchedule) { s.Horizon = 0 },
		"jitter":           func(s *workflows.RetrySchedule) { s.Jitter = 1 },
		"attempt timeout":  func(s *workflows.RetrySchedule) { s.AttemptTimeout = 0 },
	}
	for field, breakIt := range cases {
		s := workflows.DefaultRetrySchedule()
		breakIt(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("broken %s: Validate() = %v", field, err)
		}
	}
}

func TestDeliveryWorkflowID(t *testing.T) {
	if got := workflows.DeliveryWorkflowID("scn_1", "ep_2"); got != "delivery:scn_1:ep_2" {
		t.Errorf("DeliveryWorkflowID = %q", got)
	}
}

// Successive attempts of one delivery must not share one jitter factor.
func TestBackoffJitterVariesAcrossAttempts(t *testing.T) {
	s := workflows.DefaultRetrySchedule()
	seed := "delivery:scan_1:ep_1"
	factors := map[string]bool{}
	for attempt := 1; attempt <= 6; attempt++ {
		base := float64(s.InitialInterval) * math.Pow(s.Coefficient, float64(attempt-1))
		factor := float64(s.Backoff(attempt, seed)) / base
		factors[strconv.FormatFloat(factor, 'f', 3, 64)] = true
	}
	if len(factors) < 4 {
		t.Fatalf("jitter factors across 6 attempts: %v; want them spread", factors)
	}
}
