package redisstore_test

import "syscall"

// serverProcAttr makes the kernel kill a server the tests started if the
// test binary dies without running its cleanups (go test -timeout, a panic
// in another goroutine, a signal).
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
