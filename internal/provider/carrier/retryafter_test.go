package carrier

import (
	"net/http"
	"testing"
	"time"
)

// TestRetryAfter: seconds and HTTP dates, capped, and 0 for what is absent,
// unreadable or past.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{"-5", 0},
		{"soon", 0},
		{"99999999999", MaxRetryAfter},
		{now.Add(time.Minute).Format(http.TimeFormat), time.Minute},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.h, now); got != tt.want {
			t.Errorf("RetryAfter(%q): got %v, want %v", tt.h, got, tt.want)
		}
	}
}
