// Command cloudra collects, verifies, appraises and explains remote
// attestation evidence of confidential computing platforms.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudra/cloudra/cmd/cloudra/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
