package bench

import "testing"

// TestCompareVerdict checks the ratios' budget: PostgreSQL's rate over
// SQLite's from the same run, PostgreSQL's p99 under its bound, no errors,
// and with several rounds each store's median round.
func TestCompareVerdict(t *testing.T) {
	res := func(ingest, ingestP99, drain, e2e, e2eP99 float64) *Results {
		return &Results{
			Ingest:   Figure{Name: "ingest", Rate: ingest, P99MS: ingestP99},
			Drain:    Figure{Name: "drain", Rate: drain},
			EndToEnd: Figure{Name: "end to end", Rate: e2e, P99MS: e2eP99},
		}
	}
	for _, tc := range []struct {
		name     string
		sqlite   []*Results
		postgres []*Results
		want     map[string]bool
		ratio    map[string]float64
	}{
		{"within budget", []*Results{res(8000, 16, 13000, 5000, 38)}, []*Results{res(4800, 25, 13000, 3000, 50)},
			map[string]bool{"ingest": true, "drain": true, "end to end": true}, map[string]float64{"ingest": 0.6, "drain": 1, "end to end": 0.6}},
		{"the issue's figures", []*Results{res(8292, 16, 13035, 5031, 38)}, []*Results{res(1387, 37, 8380, 933, 134)},
			map[string]bool{"ingest": false, "drain": false, "end to end": false}, map[string]float64{"ingest": 0.17, "drain": 0.64, "end to end": 0.19}},
		{"fast enough but over the p99 bound", []*Results{res(8000, 16, 13000, 5000, 38)}, []*Results{res(8000, 26, 13000, 5000, 51)},
			map[string]bool{"ingest": false, "drain": true, "end to end": false}, nil},
		{"median rounds", []*Results{res(8000, 16, 10000, 5000, 38), res(1000, 16, 12000, 5000, 38), res(9000, 16, 99000, 5000, 38)},
			[]*Results{res(99000, 20, 12000, 3000, 40), res(4000, 20, 100, 3000, 40), res(4800, 20, 12000, 3000, 40)},
			map[string]bool{"ingest": true, "drain": true, "end to end": true}, map[string]float64{"ingest": 0.6, "drain": 1}},
	} {
		c := &Comparison{SQLite: tc.sqlite, Postgres: tc.postgres}
		c.judge()
		for _, r := range c.Ratios {
			if r.Pass != tc.want[r.Name] {
				t.Errorf("%s: %s pass %v (ratio %v, %+v), want %v", tc.name, r.Name, r.Pass, r.Ratio, r, tc.want[r.Name])
			}
			if want, ok := tc.ratio[r.Name]; ok && r.Ratio != want {
				t.Errorf("%s: %s ratio %v, want %v", tc.name, r.Name, r.Ratio, want)
			}
		}
		if len(c.Ratios) != 3 {
			t.Errorf("%s: %d ratios, want 3", tc.name, len(c.Ratios))
		}
	}
	// An error on either side fails the scenario whatever the ratio.
	c := &Comparison{SQLite: []*Results{res(1, 1, 1, 1, 1)}, Postgres: []*Results{res(2, 1, 2, 2, 1)}}
	c.Postgres[0].Drain.Errors = 1
	c.judge()
	if c.Ratios[1].Pass {
		t.Error("drain with an error on PostgreSQL passed")
	}
}
