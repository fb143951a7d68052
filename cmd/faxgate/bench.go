package main

import (
	"context"
	"errors"
	"io"
)

// cmdBench is written by the benchmark work; until then it says so.
func cmdBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return errors.New("bench: not built yet")
}
