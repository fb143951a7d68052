package fax_test

import (
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestRetryPolicyWait(t *testing.T) {
	t.Parallel()
	sched := []time.Duration{time.Minute, 5 * time.Minute, time.Hour}
	backoff := fax.RetryPolicy{Backoff: 30 * time.Second, MaxBackoff: 30 * time.Minute, Attempts: 10}
	tests := []struct {
		name string
		p    fax.RetryPolicy
		n    int
		want time.Duration
	}{
		{"first attempt waits nothing", fax.ScheduleRetry(sched, 0), 1, 0},
		{"schedule second", fax.ScheduleRetry(sched, 0), 2, time.Minute},
		{"schedule third", fax.ScheduleRetry(sched, 0), 3, 5 * time.Minute},
		{"schedule last", fax.ScheduleRetry(sched, 0), 4, time.Hour},
		{"schedule past its end repeats the last", fax.ScheduleRetry(sched, 0), 9, time.Hour},
		{"backoff second", backoff, 2, 30 * time.Second},
		{"backoff doubles", backoff, 3, time.Minute},
		{"backoff doubles again", backoff, 5, 4 * time.Minute},
		{"backoff capped", backoff, 8, 30 * time.Minute},
		{"backoff capped far on", backoff, 200, 30 * time.Minute},
		{"no backoff", fax.RetryPolicy{Attempts: 3}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Wait(tt.n); got != tt.want {
				t.Errorf("Wait(%d) = %v, want %v", tt.n, got, tt.want)
			}
		})
	}
	// Doubling without a cap must stop short of overflowing.
	p := fax.RetryPolicy{Backoff: time.Second, Attempts: 1000}
	if a, b := p.Wait(999), p.Wait(1000); a < p.Wait(40) || b < a {
		t.Errorf("uncapped Wait(999), Wait(1000) = %v, %v; want growing, never negative", a, b)
	}
}

func TestRetryPolicyNext(t *testing.T) {
	t.Parallel()
	def := fax.ScheduleRetry(fax.DefaultRetrySchedule(), time.Hour)
	tests := []struct {
		name       string
		p          fax.RetryPolicy
		n          int
		retryAfter time.Duration
		want       time.Duration
		ok         bool
	}{
		{"first retry", def, 1, 0, 5 * time.Minute, true},
		{"fourth retry", def, 4, 0, 30 * time.Minute, true},
		{"last retry", def, 16, 0, 6 * time.Hour, true},
		{"schedule used up", def, 17, 0, 0, false},
		{"Retry-After delays", def, 1, 20 * time.Minute, 20 * time.Minute, true},
		{"Retry-After never hastens", def, 1, time.Minute, 5 * time.Minute, true},
		{"Retry-After capped", def, 1, 48 * time.Hour, time.Hour, true},
		{"Retry-After used up too", def, 17, time.Minute, 0, false},
		{"empty schedule: no retries", fax.ScheduleRetry([]time.Duration{}, time.Hour), 1, time.Minute, 0, false},
		{"nil schedule: no retries", fax.ScheduleRetry(nil, time.Hour), 1, 0, 0, false},
		{"uncapped Retry-After", fax.RetryPolicy{Backoff: time.Second, Attempts: 3}, 1, 48 * time.Hour, 48 * time.Hour, true},
		{"negative Retry-After ignored", fax.RetryPolicy{Backoff: time.Second, Attempts: 3}, 1, -time.Hour, time.Second, true},
		{"attempt limit", fax.RetryPolicy{Backoff: time.Second, Attempts: 3}, 3, 0, 0, false},
		{"one attempt only", fax.RetryPolicy{Backoff: time.Second, Attempts: 1}, 1, 0, 0, false},
	}
	// Moved from webhook's TestNextAttempt: attempt n+1 waits s[n-1].
	s := fax.DefaultRetrySchedule()
	for prior, wait := range s {
		if got, ok := def.Next(prior+1, 0); !ok || got != wait {
			t.Errorf("Next(%d) = %v, %v; want %v, true", prior+1, got, ok, wait)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.p.Next(tt.n, tt.retryAfter)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Next(%d, %v) = %v, %v; want %v, %v", tt.n, tt.retryAfter, got, ok, tt.want, tt.ok)
			}
		})
	}
}
