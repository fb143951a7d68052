package carrier

// ScanObject calls member for each member of the JSON object b, in order,
// with its key and its value's bytes, and reports whether b was an object
// it could read: a fast path for decoding carriers' flat objects into
// Texts, which encoding/json does through reflection and a call per field
// (Phaxio's fax object: ~10 µs a callback).
//
// It reads only the plain shape: keys of printable ASCII without escapes,
// and it returns false, having perhaps called member for some members, on
// anything else (a key with an escape or a byte over 0x7E, invalid JSON,
// trailing data after the object). The caller then decodes b with
// encoding/json, whose result and error are the reference: ScanObject never
// accepts what encoding/json rejects, and what it gives member is the raw
// text encoding/json would pass to an UnmarshalJSON method. member returns
// false to stop the scan (ScanObject then returns false too).
//
// Values are checked the way encoding/json's scanner checks them: strings
// may hold escapes (which must be valid) and any bytes but control
// characters; numbers follow JSON's grammar; arrays and objects nest, to a
// depth of at most maxScanDepth (deeper ones return false).
func ScanObject(b []byte, member func(key, value []byte) bool) bool {
	return scanTop(b, '{', member)
}

// ScanArray calls element for each element of the JSON array b, in order,
// with its bytes, and reports whether b was an array it could read; as
// ScanObject, it returns false on anything it does not read (invalid JSON,
// trailing data) or when element returns false.
func ScanArray(b []byte, element func(value []byte) bool) bool {
	return scanTop(b, '[', func(_, value []byte) bool { return element(value) })
}

// scanTop reads b as one object or array (opener) and nothing else.
func scanTop(b []byte, opener byte, fn func(key, value []byte) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != opener {
		return false
	}
	end, ok := scanComposite(b, i, 0, fn)
	return ok && skipSpace(b, end) == len(b)
}

// maxScanDepth bounds how deep ScanObject follows nested values.
const maxScanDepth = 32

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue returns the end of the JSON value starting at b[i].
func skipValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '-' || '0' <= c && c <= '9':
		return skipNumber(b, i)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '[' || c == '{':
		if depth >= maxScanDepth {
			return 0, false
		}
		return scanComposite(b, i, depth, nil)
	}
	return 0, false
}

func skipLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// skipString returns the end of the string literal at b[i] (a '"').
func skipString(b []byte, i int) (int, bool) {
	i++
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			if i+1 >= len(b) {
				return 0, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return 0, false
				}
				i += 6
			default:
				return 0, false
			}
		default:
			// encoding/json takes any other bytes in a string, valid UTF-8
			// or not.
			i++
		}
	}
	return 0, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skipNumber returns the end of the number at b[i], by JSON's grammar.
func skipNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0, false
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	return i, true
}

// scanComposite returns the end of the array or object at b[i], calling fn,
// if not nil, with each member's key (nil in an array) and value: then the
// keys must be plain (printable ASCII, no escapes).
func scanComposite(b []byte, i, depth int, fn func(key, value []byte) bool) (int, bool) {
	closer := byte(']')
	object := b[i] == '{'
	if object {
		closer = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, true
	}
	for {
		var key []byte
		if object {
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			end, ok := skipString(b, i)
			if !ok {
				return 0, false
			}
			if key = b[i+1 : end-1]; fn != nil && !plainKey(key) {
				return 0, false
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return 0, false
			}
			i = skipSpace(b, i+1)
		}
		end, ok := skipValue(b, i, depth+1)
		if !ok || fn != nil && !fn(key, b[i:end]) {
			return 0, false
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closer:
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// plainKey reports whether a key's text is printable ASCII without escapes.
func plainKey(k []byte) bool {
	for _, c := range k {
		if c < 0x20 || c > 0x7E || c == '\\' {
			return false
		}
	}
	return true
}
