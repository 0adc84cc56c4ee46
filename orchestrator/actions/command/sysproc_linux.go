package command

import "syscall"

// sysProcAttr puts the program in its own process group (a timeout kills the group) and has
// the kernel kill it when the replica dies (kill -9, OOM, power loss of the process): an
// orphan must not go on acting on a site while another replica takes the run over and runs
// the step again. The parent-death signal is tied to the OS thread that started the program;
// the Go runtime never ends a thread that no goroutine locked, and this package locks none.
// A grandchild the program left running in the background is not covered by it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
