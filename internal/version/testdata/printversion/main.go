// Command printversion prints version.Version and version.Commit, for version_test.go.
package main

import (
	"fmt"

	"github.com/mitogen-go/mitogend/internal/version"
)

func main() { fmt.Printf("%s|%s", version.Version(), version.Commit()) }
