//go:build !linux

package redisstore_test

import "syscall"

// serverProcAttr: only Linux can tie a child's life to its parent's; the
// tests' cleanups and budget watchdog kill the servers elsewhere.
func serverProcAttr() *syscall.SysProcAttr { return nil }
