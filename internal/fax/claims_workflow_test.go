package fax

import (
	"reflect"
	"testing"
)

func TestClaimSlotsClaims(t *testing.T) {
	got := ClaimSlots{PerProvider: map[string]int{"sinch": 2, "phaxio": 1, "gofax": 0}, Other: 3}.Claims()
	want := []SlotClaim{{Carrier: "phaxio", Limit: 1}, {Carrier: "sinch", Limit: 2}, {Except: []string{"gofax", "phaxio", "sinch"}, Limit: 3}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := (ClaimSlots{Other: 5}).Claims(); !reflect.DeepEqual(got, []SlotClaim{{Except: []string{}, Limit: 5}}) {
		t.Fatalf("got %+v, want one claim of any carrier", got)
	}
	for n, want := range map[int]int{-1: DefaultLimit, 0: DefaultLimit, 7: 7, MaxLimit + 1: MaxLimit} {
		if got := PageLimit(n); got != want {
			t.Errorf("PageLimit(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestPage(t *testing.T) {
	id := func(s string) string { return s }
	if got, next := Page([]string{"c", "b"}, 2, id); len(got) != 2 || next != "" {
		t.Errorf("last page: got %v, %q; want both items and no cursor", got, next)
	}
	if got, next := Page([]string{"c", "b", "a"}, 2, id); len(got) != 2 || next != "b" {
		t.Errorf("more to come: got %v, %q; want two items and cursor b", got, next)
	}
}
