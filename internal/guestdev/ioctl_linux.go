//go:build linux

package guestdev

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ioctl issues ioctl(2) cmd on f with arg. The caller keeps what arg points
// to alive across the call (runtime.KeepAlive).
func Ioctl(f *os.File, cmd uintptr, arg unsafe.Pointer) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if err := conn.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, cmd, uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
