package bench

// faxgate bench --compare: the same scenarios on SQLite and on PostgreSQL
// in one sitting, so that the two stores are judged on the same machine in
// the same state. Runs alternate (SQLite, PostgreSQL, SQLite, …) so that a
// drift in the machine (another load, a warmer cache) falls on both. Each
// PostgreSQL run gets a database of its own, created beside the one
// --database-url names and dropped afterwards, as each SQLite run gets a
// new file.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
)

// The budget of PostgreSQL against SQLite measured in the same run
// (issue 22): ratios of PostgreSQL's rate to SQLite's, and PostgreSQL's p99.
const (
	budgetRatioIngest = 0.6
	budgetRatioDrain  = 1.0
	budgetRatioE2E    = 0.6
	budgetPGIngestP99 = 25 * time.Millisecond
	budgetPGE2EP99    = 50 * time.Millisecond
)

// Comparison is what a --compare run measured.
type Comparison struct {
	Machine  Machine    `json:"machine"`
	Rounds   int        `json:"rounds"`
	SQLite   []*Results `json:"sqlite"`
	Postgres []*Results `json:"postgres"`
	Ratios   []Ratio    `json:"ratios"`
	Errors   []string   `json:"errors,omitempty"`
}

// Ratio is one scenario on both stores. With several rounds each store's
// figure is its median round by rate.
type Ratio struct {
	Name          string  `json:"name"`
	SQLiteRate    float64 `json:"sqlite_rate_per_s"`
	PostgresRate  float64 `json:"postgres_rate_per_s"`
	SQLiteP99MS   float64 `json:"sqlite_p99_ms,omitempty"`
	PostgresP99MS float64 `json:"postgres_p99_ms,omitempty"`
	Ratio         float64 `json:"ratio"`
	Budget        string  `json:"budget"`
	Pass          bool    `json:"pass"`
}

// runCompare runs the scenarios rounds times on each store, alternating.
func (b *bench) runCompare(ctx context.Context) (*Comparison, error) {
	o := b.o
	c := &Comparison{Machine: newMachine(o), Rounds: o.rounds}
	c.Machine.Store = "sqlite and postgres"
	root := o.dir
	if root == "" {
		d, err := os.MkdirTemp("", "faxgate-bench-compare-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(d)
		root = d
	} else if entries, err := os.ReadDir(root); err == nil && len(entries) > 0 {
		return nil, UsageError("--dir " + root + " is not empty")
	}
	for round := 1; round <= o.rounds; round++ {
		for _, store := range []string{"sqlite", "postgres"} {
			ro := o
			ro.dir = filepath.Join(root, fmt.Sprintf("%s-%d", store, round))
			ro.cpuProfile, ro.memProfile = withStore(o.cpuProfile, store, round), withStore(o.memProfile, store, round)
			ro.databaseURL = ""
			var drop func()
			if store == "postgres" {
				u, d, err := createDatabase(ctx, o.databaseURL)
				if err != nil {
					return c, err
				}
				ro.databaseURL, drop = u, d
			}
			b.say("round %d of %d: %s", round, o.rounds, store)
			rb := &bench{o: ro, getenv: b.getenv, progress: b.progress, open: b.open}
			res, err := rb.run(ctx)
			if drop != nil {
				drop()
			}
			if err != nil {
				return c, fmt.Errorf("bench: round %d, %s: %w", round, store, err)
			}
			for _, e := range res.Errors {
				c.Errors = append(c.Errors, fmt.Sprintf("round %d, %s: %s", round, store, e))
			}
			if store == "sqlite" {
				c.SQLite = append(c.SQLite, res)
			} else {
				c.Postgres = append(c.Postgres, res)
			}
		}
	}
	c.judge()
	return c, nil
}

// withStore inserts the store and round into a profile's file name.
func withStore(path, store string, round int) string {
	if path == "" {
		return ""
	}
	ext := filepath.Ext(path)
	return fmt.Sprintf("%s-%s-%d%s", strings.TrimSuffix(path, ext), store, round, ext)
}

// judge sets the ratios from each store's median round.
func (c *Comparison) judge() {
	c.Ratios = nil
	pick := func(rs []*Results, f func(*Results) Figure) Figure {
		figs := make([]Figure, 0, len(rs))
		for _, r := range rs {
			figs = append(figs, f(r))
		}
		slices.SortFunc(figs, func(a, b Figure) int {
			switch {
			case a.Rate < b.Rate:
				return -1
			case a.Rate > b.Rate:
				return 1
			}
			return 0
		})
		if len(figs) == 0 {
			return Figure{}
		}
		return figs[(len(figs)-1)/2]
	}
	add := func(name string, f func(*Results) Figure, ratio float64, p99 time.Duration) {
		s, p := pick(c.SQLite, f), pick(c.Postgres, f)
		r := Ratio{Name: name, SQLiteRate: s.Rate, PostgresRate: p.Rate, SQLiteP99MS: s.P99MS, PostgresP99MS: p.P99MS}
		if s.Rate > 0 {
			r.Ratio = round(p.Rate/s.Rate, 2)
		}
		r.Budget = fmt.Sprintf("≥%.1f×", ratio)
		r.Pass = r.Ratio >= ratio && s.Errors == 0 && p.Errors == 0
		if p99 > 0 {
			r.Budget += fmt.Sprintf(", PostgreSQL p99 ≤%v", p99)
			r.Pass = r.Pass && p.P99MS <= ms(p99)
		}
		c.Ratios = append(c.Ratios, r)
	}
	add("ingest", func(r *Results) Figure { return r.Ingest }, budgetRatioIngest, budgetPGIngestP99)
	add("drain", func(r *Results) Figure { return r.Drain }, budgetRatioDrain, 0)
	add("end to end", func(r *Results) Figure { return r.EndToEnd }, budgetRatioE2E, budgetPGE2EP99)
}

// missed lists the scenarios whose ratio misses the budget.
func (c *Comparison) missed() []string {
	var out []string
	for _, r := range c.Ratios {
		if !r.Pass {
			out = append(out, r.Name)
		}
	}
	return out
}

func (c *Comparison) print(w io.Writer) {
	for i := range c.SQLite {
		c.SQLite[i].print(w)
		fmt.Fprintln(w)
		if i < len(c.Postgres) {
			c.Postgres[i].print(w)
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "faxgate bench --compare: PostgreSQL against SQLite, %d round(s) alternating", c.Rounds)
	if c.Rounds > 1 {
		fmt.Fprint(w, ", each store's median round")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tSQLite/s\tp99 ms\tPostgreSQL/s\tp99 ms\tratio\t budget\t")
	for _, r := range c.Ratios {
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.0f\t%.2f\t%.2f×\t %s %s\t\n", r.Name, r.SQLiteRate, r.SQLiteP99MS,
			r.PostgresRate, r.PostgresP99MS, r.Ratio, r.Budget, verdict(r.Pass))
	}
	tw.Flush()
	fmt.Fprintln(w, "end to end is the sustained rate, at most what is offered (--e2e-rate): offer more than SQLite sustains for a ratio of capacities")
	for _, e := range c.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

// compareCommand runs --compare and reports as Command does.
func (b *bench) compareCommand(ctx context.Context, stdout io.Writer) error {
	c, err := b.runCompare(ctx)
	if c != nil && len(c.SQLite)+len(c.Postgres) > 0 {
		if err == nil {
			c.print(stdout)
		}
		if b.o.jsonFile != "" {
			j, _ := json.MarshalIndent(c, "", "  ")
			if werr := os.WriteFile(b.o.jsonFile, append(j, '\n'), 0o644); werr != nil {
				err = errors.Join(err, fmt.Errorf("bench: --json: %w", werr))
			}
		}
	}
	if err != nil {
		return err
	}
	if len(c.Errors) > 0 {
		return fmt.Errorf("bench: %d problems:\n  %s", len(c.Errors), strings.Join(c.Errors, "\n  "))
	}
	if b.o.check {
		if missed := c.missed(); len(missed) > 0 {
			return fmt.Errorf("bench: PostgreSQL against SQLite over budget: %s", strings.Join(missed, "; "))
		}
	}
	return nil
}

// createDatabase creates an empty database on the server base names and
// returns its URL (base's parameters kept) and a function that drops it.
func createDatabase(ctx context.Context, base string) (string, func(), error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("bench: --database-url: %w", err)
	}
	admin := *u
	q := admin.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k) // pgxpool's, not the server's
		}
	}
	admin.RawQuery = q.Encode()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return "", nil, fmt.Errorf("bench: --database-url: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var r [6]byte
	rand.Read(r[:])
	name := "faxgate_bench_" + hex.EncodeToString(r[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("bench: creating a database for the run (the --database-url user needs CREATEDB): %w", err)
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(dctx, admin.String())
		if err != nil {
			return
		}
		defer c.Close(dctx)
		c.Exec(dctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
		c.Exec(dctx, "DROP DATABASE IF EXISTS "+name)
	}
	du := *u
	du.Path = "/" + name
	return du.String(), drop, nil
}
