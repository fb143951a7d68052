package carrier

import "strings"

// HostAllowed reports whether host matches one of patterns: an exact name,
// or "*.example.com" for example.com and its subdomains.
func HostAllowed(host string, patterns []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, p := range patterns {
		p = strings.ToLower(strings.TrimSpace(p))
		if rest, ok := strings.CutPrefix(p, "*."); ok {
			if host == rest || strings.HasSuffix(host, "."+rest) {
				return true
			}
			continue
		}
		if host == p {
			return true
		}
	}
	return false
}
