//go:build !linux

package command

import "syscall"

// sysProcAttr puts the program in its own process group, so that a timeout kills it and
// every child it started. Only Linux has a parent-death signal.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
