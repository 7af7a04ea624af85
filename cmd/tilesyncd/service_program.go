package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/kardianos/service"
	"github.com/tilesyncd/tilesyncd/packaging"
)

// serviceStopTimeout bounds how long a service Stop waits for the daemon,
// which stops within 10 s; systemd's TimeoutStopSec is 15 s.
const serviceStopTimeout = 12 * time.Second

// underWindowsServiceManager reports whether this process was started by the
// Windows service control manager: then `run` must go through runAsService,
// which answers the manager's requests.
func underWindowsServiceManager() bool {
	return runtime.GOOS == "windows" && !service.Interactive()
}

// runAsService runs the daemon under the service manager through
// kardianos/service: Start runs runDaemon in a goroutine, Stop cancels it
// and waits up to serviceStopTimeout. Start, stop and failures go to the
// system log (the Windows Event Log). It returns when the service is stopped.
func runAsService(configPath string, stdout, stderr io.Writer) error {
	abs, err := filepath.Abs(configPath)
	if err != nil {
		return fmt.Errorf("configuration path: %w", err)
	}
	prg := &program{
		run:         func(ctx context.Context) error { return runDaemon(ctx, abs, stdout, stderr) },
		stopTimeout: serviceStopTimeout,
		exit:        os.Exit,
		what:        "tilesyncd (configuration " + abs + ")",
	}
	s, err := service.New(prg, &service.Config{Name: serviceName(runtime.GOOS)})
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	if logger, err := s.Logger(nil); err == nil {
		prg.logger = logger
	}
	return s.Run()
}

// program adapts a blocking daemon — run until its context is cancelled —
// to kardianos/service's Start and Stop, which must not block.
type program struct {
	run         func(ctx context.Context) error
	stopTimeout time.Duration
	// exit ends the process when the daemon stops on its own, so that the
	// service manager sees a failure and restarts it (os.Exit in production).
	exit   func(code int)
	logger service.Logger // nil: no system log
	what   string         // names the daemon in log messages

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
	err    error         // run's result, set before done is closed
}

var _ service.Interface = (*program)(nil)

// Start runs the daemon in a goroutine and returns at once.
func (p *program) Start(service.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		return fmt.Errorf("%s is already started", p.what)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	done := p.done
	p.logInfo("started " + p.what)
	go func() {
		err := p.run(ctx)
		stopped := ctx.Err() != nil
		p.err = err
		close(done)
		if stopped {
			return
		}
		// The daemon ended without being asked to: a failure for the manager.
		if err != nil {
			p.logError(fmt.Sprintf("%s failed: %v", p.what, err))
			p.exit(1)
			return
		}
		p.logError(p.what + " stopped on its own")
		p.exit(1)
	}()
	return nil
}

// Stop cancels the daemon and waits for it to return, at most stopTimeout.
// It returns the daemon's error, or one saying it did not stop in time.
func (p *program) Stop(service.Service) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	timer := time.NewTimer(p.stopTimeout)
	defer timer.Stop()
	select {
	case <-done:
		if p.err != nil {
			p.logError(fmt.Sprintf("%s stopped with an error: %v", p.what, p.err))
			return p.err
		}
		p.logInfo("stopped " + p.what)
		return nil
	case <-timer.C:
		err := fmt.Errorf("%s did not stop within %s", p.what, p.stopTimeout)
		p.logError(err.Error())
		return err
	}
}

func (p *program) logInfo(msg string) {
	if p.logger != nil {
		_ = p.logger.Info(msg)
	}
}

func (p *program) logError(msg string) {
	if p.logger != nil {
		_ = p.logger.Error(msg)
	}
}

// serviceName is the name the service manager knows tilesyncd by: the
// launchd Label on macOS, "tilesyncd" elsewhere.
func serviceName(goos string) string {
	if goos == "darwin" {
		return packaging.LaunchdLabel
	}
	return packaging.ServiceName
}
