//go:build unix

package document

import (
	"os/exec"
	"syscall"
)

// killGroup makes cmd the leader of its own process group and has a
// cancelled cmd kill the whole group: soffice starts soffice.bin, which
// would otherwise outlive it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
