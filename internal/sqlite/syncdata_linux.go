package sqlite

import (
	"os"
	"syscall"
)

// syncData flushes f's data to the disk with fdatasync, as SQLite itself
// syncs its WAL on Linux: the file's size is flushed with it when it grew,
// and times, which recovery does not need, are not.
func syncData(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
