package carrier

import (
	"bytes"
	"encoding/json"
	"testing"
)

var scanSeeds = []string{
	`{"a":1,"b":"x","c":null,"d":true,"e":false,"f":[1,{"g":"\u00e9"}],"h":{}}`,
	` {"a" : -1.5e-3 } `,
	`{}`, `{ }`, `[]`, `null`, `1`, `"x"`, ``,
	`{"a":1,}`, `{"a":1 "b":2}`, `{"a"}`, `{"a":}`, `{"a":1}}`, `{"a":1} 2`,
	`{"a":01}`, `{"a":1.}`, `{"a":1e}`, `{"a":-}`, `{"a":tru}`, `{"a":nul}`,
	`{"a\"b":1}`, `{"\u0061":1}`, "{\"\xc3\xa9\":1}", "{\"a\":\"\x01\"}",
	`{"a":"\x"}`, `{"a":"\u12"}`, `{"a":[1,]}`, `{"a":[1 2]}`, `{"a":{"b"}}`,
	`{"a":1,"a":2}`, "{\"a\":\"\xff\"}",
	`[1, "x", {"a":[]}, null]`, ` [ ] `, `[1,]`, `[,1]`, `[1 2]`, `[1]]`, `[{"a":1}`,
}

func TestScanObjectSeeds(t *testing.T) {
	arrays := 0
	for _, s := range scanSeeds {
		checkScanObject(t, []byte(s))
		checkScanArray(t, []byte(s))
		if ScanArray([]byte(s), func([]byte) bool { return true }) {
			arrays++
		}
	}
	if arrays != 3 {
		t.Errorf("ScanArray read %d of the seeds, want 3", arrays)
	}
	var keys []string
	if !ScanObject([]byte(` {"a" : [1, 2] ,"b":"x"} `), func(k, v []byte) bool {
		keys = append(keys, string(k)+"="+string(v))
		return true
	}) || len(keys) != 2 || keys[0] != "a=[1, 2]" || keys[1] != `b="x"` {
		t.Errorf("members %q", keys)
	}
	if ScanObject([]byte(`{"a":1,"b":2}`), func(k, _ []byte) bool { return string(k) != "b" }) {
		t.Error("ScanObject = true after member returned false")
	}
	deep := bytes.Repeat([]byte("["), maxScanDepth+1)
	if ScanObject([]byte(`{"a":`+string(deep)+string(bytes.Repeat([]byte("]"), maxScanDepth+1))+`}`), func(_, _ []byte) bool { return true }) {
		t.Error("ScanObject followed nesting deeper than maxScanDepth")
	}
}

// FuzzScanObject holds ScanObject and ScanArray to encoding/json: whatever
// ScanObject reads is a valid JSON object whose members (the last of each
// key) are those encoding/json decodes, and whatever ScanArray reads is a
// valid JSON array of the elements encoding/json decodes.
func FuzzScanObject(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkScanObject(t, b)
		checkScanArray(t, b)
	})
}

func checkScanArray(t *testing.T, b []byte) {
	t.Helper()
	var got []string
	if !ScanArray(b, func(v []byte) bool {
		got = append(got, string(v))
		return true
	}) {
		return
	}
	var want []json.RawMessage
	if err := json.Unmarshal(b, &want); err != nil || want == nil {
		t.Fatalf("ScanArray read %q, which encoding/json does not take as an array: %v", b, err)
	}
	if len(got) != len(want) {
		t.Fatalf("ScanArray(%q) gave %d elements, encoding/json %d", b, len(got), len(want))
	}
	for i := range want {
		if got[i] != string(want[i]) {
			t.Fatalf("ScanArray(%q)[%d] = %q, encoding/json %q", b, i, got[i], want[i])
		}
	}
}

func checkScanObject(t *testing.T, b []byte) {
	t.Helper()
	got := map[string]string{}
	if !ScanObject(b, func(k, v []byte) bool {
		got[string(k)] = string(v)
		return true
	}) {
		return
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(b, &want); err != nil || want == nil {
		t.Fatalf("ScanObject read %q, which encoding/json does not take as an object: %v", b, err)
	}
	if len(got) != len(want) {
		t.Fatalf("ScanObject(%q) gave %d keys, encoding/json %d", b, len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != string(v) {
			t.Fatalf("ScanObject(%q)[%q] = %q, encoding/json %q", b, k, g, v)
		}
	}
}
