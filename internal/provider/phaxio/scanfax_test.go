package phaxio

import (
	"encoding/json"
	"reflect"
	"testing"
)

var faxObjectSeeds = []string{
	`{"id":1234,"direction":"sent","status":"inprogress","num_pages":9,"recipients":[{"phone_number":"+15551230001","status":"inprogress","retry_count":0,"error_type":null}],"tags":{"faxgate_id":"fax_1"},"barcodes":[],"cost":63,"is_test":false}`,
	`{"id":"1234","status":"failure","error_type":"lineError","error_message":"Busy \"line\"","completed_at":"2026-11-23T10:00:00.000-05:00"}`,
	` { "ID" : 7 , "Status":"success" } `,
	`{"id":1,"id":2}`,
	`{"recipients":[],"recipients":[{"status":"success"}]}`,
	`{"recipients":null}`,
	`{"recipients":[null]}`,
	`{"recipients":[{"Phone_Number":"+1555"}]}`,
	`{"status":{"a":1}}`,
	`{"status":[1,2]}`,
	`{"from":-0.5e+3,"to":true,"file_url":"\u00e9\/x"}`,
	`{"caller_id":"\ud800"}`,
	`{"x":{"y":[1,{"z":"\\"}]}}`,
	`{"st\u0061tus":"success"}`,
	`{"ſtatus":"success"}`,
	`{"status":"a"} x`,
	`{"status":"a",}`,
	`{}`,
	`null`,
	`[]`,
	`"x"`,
	`{"num_pages":01}`,
	`{"num_pages":1.}`,
	"{\"status\":\"a\tb\"}",
	"{\"status\":\"\xff\xfe\"}",
	`{"recipients":[{"status":"a"},{"status":"b"}]}`,
	`{"recipients":[{"status":"a"}`,
	`{"recipients":[{"status":"}"}]}`,
}

// TestScanFaxMatchesEncodingJSON checks decodeFax against json.Unmarshal on
// the seeds: the same fax, or both an error.
func TestScanFaxMatchesEncodingJSON(t *testing.T) {
	fast := 0
	for _, s := range faxObjectSeeds {
		checkScanFax(t, []byte(s))
		var f wireFax
		if scanFax([]byte(s), &f) {
			fast++
		}
	}
	if fast < 8 {
		t.Errorf("only %d of the seeds took the fast path", fast)
	}
}

// FuzzScanFax holds the fast path to encoding/json: whatever scanFax
// accepts, json.Unmarshal accepts and decodes to the same fax, and
// decodeFax always gives json.Unmarshal's result.
func FuzzScanFax(f *testing.F) {
	for _, s := range faxObjectSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkScanFax(t, b) })
}

func checkScanFax(t *testing.T, b []byte) {
	t.Helper()
	var want wireFax
	wantErr := json.Unmarshal(b, &want)
	var fast wireFax
	if scanFax(b, &fast) {
		if wantErr != nil {
			t.Fatalf("scanFax accepted %q, which json.Unmarshal rejects: %v", b, wantErr)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("scanFax(%q) = %+v, json.Unmarshal gives %+v", b, fast, want)
		}
	}
	var got wireFax
	err := decodeFax(b, &got)
	if (err != nil) != (wantErr != nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("decodeFax(%q) error %v, json.Unmarshal's %v", b, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeFax(%q) = %+v, json.Unmarshal gives %+v", b, got, want)
	}
}
