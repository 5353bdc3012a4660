package device

import (
	"fmt"
	"runtime"
	"unsafe"
)

// nsmIovec mirrors struct nsm_iovec (include/uapi/linux/nsm.h): a user
// buffer's address and length, both __u64 whatever the word size.
type nsmIovec struct {
	Addr uint64
	Len  uint64
}

// nsmRaw mirrors struct nsm_raw: the request the driver copies in and the
// buffer it copies the response out to. On return response.len is the
// response's length (drivers/misc/nsm.c, parse_resp_raw).
type nsmRaw struct {
	Request  nsmIovec
	Response nsmIovec
}

// The ioctl number, computed as _IOWR(NSM_MAGIC, 0x0, struct nsm_raw) is by
// include/uapi/asm-generic/ioctl.h: direction in bits 30–31 (read|write),
// argument size in bits 16–29, type in bits 8–15, number in bits 0–7. It is
// 0xC0200A00 on amd64 and arm64, the architectures of Nitro enclaves.
const (
	nsmMagic    = 0x0A
	nsmRawNr    = 0x0
	iocWrite    = 1
	iocRead     = 2
	iocDirShift = 30
	iocNrMask   = 0xff
	ioctlRaw    = uintptr((iocRead|iocWrite)<<iocDirShift | unsafe.Sizeof(nsmRaw{})<<16 | nsmMagic<<8 | nsmRawNr&iocNrMask)
)

// exchange sends request to the NSM behind d and returns its response.
func exchange(d rawDevice, request []byte) ([]byte, error) {
	if len(request) == 0 {
		return nil, ErrEmptyRequest
	}
	if len(request) > RequestMaxSize {
		return nil, &LimitError{Field: "request", Len: len(request), Max: RequestMaxSize}
	}
	// The kernel is handed the buffers' addresses as integers, which the Go
	// runtime does not track: the buffers must not move while the ioctl runs.
	// Heap objects never move, and buf is on the heap because the response,
	// a slice of it, is returned; runtime.KeepAlive keeps it alive until the
	// ioctl has returned. The response buffer is NSM_RESPONSE_MAX_SIZE long,
	// the longest response the driver has (struct nsm_data_resp), so the
	// driver never truncates.
	buf := make([]byte, RequestMaxSize+ResponseMaxSize)
	req := buf[:len(request):RequestMaxSize]
	copy(req, request)
	resp := buf[RequestMaxSize:]
	raw := nsmRaw{
		Request:  nsmIovec{Addr: uint64(uintptr(unsafe.Pointer(&req[0]))), Len: uint64(len(req))},
		Response: nsmIovec{Addr: uint64(uintptr(unsafe.Pointer(&resp[0]))), Len: uint64(len(resp))},
	}
	err := d.rawIoctl(&raw)
	runtime.KeepAlive(buf)
	if err != nil {
		return nil, fmt.Errorf("nitro/device: NSM_IOCTL_RAW: %w", err)
	}
	// The driver sets response.len to what it wrote, at most the buffer's
	// length; a driver that says more is not believed.
	n := raw.Response.Len
	switch {
	case n > uint64(len(resp)):
		return nil, fmt.Errorf("%w: the driver reports %d bytes in a %d-byte buffer", ErrResponseTooLarge, n, len(resp))
	case n == 0:
		return nil, fmt.Errorf("%w: the driver returned an empty response", ErrMalformedResponse)
	}
	return resp[:n:n], nil
}
