package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/airlockhq/airlock/recorder/auditcli"
)

// cmdAudit is `airlock audit verify|replay|sessions|search|export|hold|purge`
// (see auditcli.Usage). It exits 1 when verify finds the trail altered.
func cmdAudit(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return auditcli.Run(ctx, args, stdout, stderr)
}
