// The timing harness of bench/versus-seed, built beside the seed's main.go: `seed benchtick
// DIR` runs the seed's monitorTick once, set up as NewCfg and runMonitor set it up with their
// default flags (no --human, no --include-running, log level info to stderr), its status
// lines to io.Discard, and prints the tick's wall milliseconds. It runs from init(), so the
// seed's own main() is left as it is.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

func init() {
	if len(os.Args) != 3 || os.Args[1] != "benchtick" {
		return
	}
	logger := newLogger("ci", "info")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := &Cfg{
		NewWorkspace:    defaultWorkspaceFactory,
		Logger:          logger.With("key_loc", "", "cert_loc", ""),
		Ctx:             ctx,
		Cancel:          cancel,
		ArtifactDir:     os.Args[2],
		MonitorInterval: 5 * time.Second,
		GCInterval:      10 * time.Minute,
		StatusOutput:    io.Discard,
	}
	log := cfg.Logger.With("cmd", "monitor")
	t0 := time.Now()
	err := monitorTick(cfg, log, cfg.StatusOutput, make(map[string]*monitorJobState))
	ms := float64(time.Since(t0).Microseconds()) / 1000
	if err != nil {
		log.Error("monitor tick", "err", err)
	}
	fmt.Printf("%.1f\n", ms)
	os.Exit(0)
}
