package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at release build time with -ldflags "-X main.version=…".
var version = "dev"

func cmdVersion(_ []string, stdout io.Writer) error {
	fmt.Fprintf(stdout, "faxgate %s\n", version)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintf(stdout, "go: %s\n", bi.GoVersion)
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified", "GOOS", "GOARCH", "CGO_ENABLED":
				fmt.Fprintf(stdout, "%s: %s\n", s.Key, s.Value)
			}
		}
	}
	return nil
}
