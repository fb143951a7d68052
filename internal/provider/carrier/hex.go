package carrier

import "encoding/hex"

// maxHexSignature is the longest hex signature DecodeHex reads: an
// HMAC-SHA512, longer than any carrier sends.
const maxHexSignature = 2 * 64

// DecodeHex decodes s, hex digits in either case, into dst with
// encoding/hex and reports the length, or false when s is not whole hex
// that fits. The copy through a stack buffer keeps a webhook's signature
// check free of allocations.
func DecodeHex(dst []byte, s string) (int, bool) {
	var buf [maxHexSignature]byte
	if len(s)%2 != 0 || len(s)/2 > len(dst) || len(s) > len(buf) {
		return 0, false
	}
	n, err := hex.Decode(dst, buf[:copy(buf[:], s)])
	return n, err == nil
}
