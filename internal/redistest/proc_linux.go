package redistest

import (
	"os/exec"
	"syscall"
)

// dieWithParent asks the kernel to kill redis-server if the test binary dies
// without running its cleanups (a panic, a timeout, ^C). It is a safety net
// only: the signal follows the OS thread that started the process.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
