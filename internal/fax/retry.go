package fax

import "time"

// RetryPolicy says when failed work is tried again: webhook deliveries,
// hand-overs to a carrier and fetches of received documents all follow one,
// each with its own settings. Attempts are counted from 1, the first
// attempt included.
type RetryPolicy struct {
	// Schedule is the wait before each retry: attempt n+1 waits
	// Schedule[n-1] after attempt n failed. Past its end the last wait
	// repeats. When Schedule is empty the waits come from Backoff.
	Schedule []time.Duration
	// Backoff is the wait before the second attempt, doubled for each
	// later one up to MaxBackoff (no cap when 0). Used only without a
	// Schedule.
	Backoff, MaxBackoff time.Duration
	// Attempts is the most attempts in all; the work fails for good after
	// that many. 1 (or less) means no retries.
	Attempts int
	// MaxRetryAfter caps how far a Retry-After can delay a retry, so that
	// a typo in someone else's header cannot park work for a year. 0
	// means no cap.
	MaxRetryAfter time.Duration
}

// ScheduleRetry is the policy of a schedule used up once: one first attempt
// and a retry after each wait in schedule.
func ScheduleRetry(schedule []time.Duration, maxRetryAfter time.Duration) RetryPolicy {
	return RetryPolicy{Schedule: schedule, Attempts: 1 + len(schedule), MaxRetryAfter: maxRetryAfter}
}

// Wait is how long attempt n waits after attempt n-1 failed; the first
// attempt does not wait.
func (p RetryPolicy) Wait(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	if len(p.Schedule) > 0 {
		return p.Schedule[min(n-2, len(p.Schedule)-1)]
	}
	d := p.Backoff
	for i := 2; i < n && d > 0; i++ {
		if p.MaxBackoff > 0 && d >= p.MaxBackoff {
			break
		}
		// Stop doubling before the duration overflows.
		if d > time.Duration(1<<62) {
			break
		}
		d *= 2
	}
	if p.MaxBackoff > 0 {
		d = min(d, p.MaxBackoff)
	}
	return d
}

// Retry reports whether work that failed attempt n may be tried again.
func (p RetryPolicy) Retry(n int) bool {
	return n < p.Attempts
}

// RetryAfter is a receiver's Retry-After capped at MaxRetryAfter.
func (p RetryPolicy) RetryAfter(d time.Duration) time.Duration {
	if p.MaxRetryAfter > 0 {
		d = min(d, p.MaxRetryAfter)
	}
	return max(d, 0)
}

// Next is how long to wait before trying again after attempt n failed, and
// false once the attempts are used up. A Retry-After (0 when there is none)
// can delay the retry past the policy's wait, up to MaxRetryAfter, never
// hasten it.
func (p RetryPolicy) Next(n int, retryAfter time.Duration) (time.Duration, bool) {
	if !p.Retry(n) {
		return 0, false
	}
	return max(p.Wait(n+1), p.RetryAfter(retryAfter)), true
}
