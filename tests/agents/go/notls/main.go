// A Go program without crypto/tls: the Go binary that has nothing to probe.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stdout, "no TLS here:", len(os.Args))
}
