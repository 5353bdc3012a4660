package device

import "fmt"

// Kernel ABI of /dev/sev-guest, include/uapi/linux/sev-guest.h (Linux ≥ 5.19).
// The Go structs mirror the C structs field for field so the Linux
// implementation can hand their addresses to ioctl(2); layout_linux_test.go
// pins their sizes.

// UserDataSize is SNP_REPORT_USER_DATA_SIZE.
const UserDataSize = 64

// ReportReq is struct snp_report_req (96 bytes).
type ReportReq struct {
	UserData [UserDataSize]byte // REPORT_DATA of the report
	VMPL     uint32             // VMPL stated in the report; ≥ the guest's own VMPL
	Rsvd     [28]byte           // must be zero
}

// ReportResp is struct snp_report_resp: MSG_REPORT_RSP (SEV-SNP ABI spec,
// "MSG_REPORT_RSP Message Structure"): u32 STATUS, u32 REPORT_SIZE, 24
// reserved bytes, then the ATTESTATION_REPORT.
type ReportResp struct {
	Data [4000]byte
}

// ExtReportReq is struct snp_ext_report_req (112 bytes with tail padding).
type ExtReportReq struct {
	Data         ReportReq
	CertsAddress uint64 // user address of the certificate buffer
	CertsLen     uint32 // its length: a multiple of 4096, at most SEV_FW_BLOB_MAX_SIZE
	_            [4]byte
}

// GuestRequestIoctl is struct snp_guest_request_ioctl (32 bytes).
type GuestRequestIoctl struct {
	MsgVersion uint8 // must be non-zero; 1
	_          [7]byte
	ReqData    uint64
	RespData   uint64
	ExitInfo2  uint64 // bits 31:0 firmware error, 63:32 VMM error
}

// Ioctl request numbers: _IOWR('S', nr, struct snp_guest_request_ioctl)
// = 3<<30 | 32<<16 | 'S'<<8 | nr.
const (
	ioctlGetReport    = 0xC0205300 // SNP_GET_REPORT
	ioctlGetExtReport = 0xC0205302 // SNP_GET_EXT_REPORT
)

// VMM error codes in ExitInfo2 bits 63:32.
const (
	VMMErrInvalidLen = 1 // SNP_GUEST_VMM_ERR_INVALID_LEN: certificate buffer too small
	VMMErrBusy       = 2 // SNP_GUEST_VMM_ERR_BUSY
)

// pageSize is the granularity of certs_len (IS_ALIGNED(certs_len, PAGE_SIZE)).
const pageSize = 4096

// maxCertsLen bounds the certificate buffer we are willing to allocate when
// the host asks for more. The kernel's own cap is SEV_FW_BLOB_MAX_SIZE
// (16 KiB); the margin tolerates older kernels without trusting the host.
const maxCertsLen = 256 << 10

// ExitInfo is the exitinfo2 value the kernel copies back.
type ExitInfo uint64

// FWError is the AMD Secure Processor status (psp-sev.h SEV_RET_*).
func (e ExitInfo) FWError() uint32 { return uint32(e) }

// VMMError is the hypervisor's error (SNP_GUEST_VMM_ERR_*).
func (e ExitInfo) VMMError() uint32 { return uint32(e >> 32) }

func (e ExitInfo) String() string {
	return fmt.Sprintf("exitinfo2 0x%x (firmware error 0x%x, vmm error %d)", uint64(e), e.FWError(), e.VMMError())
}

// Device is one open /dev/sev-guest. The Linux implementation passes the
// structs to the kernel by address (snp_guest_request_ioctl.req_data /
// resp_data / certs_address); a fake fills them as the kernel would.
type Device interface {
	// GetReport issues SNP_GET_REPORT.
	GetReport(req *ReportReq, resp *ReportResp) (ExitInfo, error)
	// GetExtReport issues SNP_GET_EXT_REPORT with certs as the buffer at
	// certs_address; req.CertsLen must equal len(certs). When the buffer is
	// too small the kernel fails the call (EIO, older kernels ENOSPC), sets
	// the VMM error to VMMErrInvalidLen and writes the needed length into
	// req.CertsLen.
	GetExtReport(req *ExtReportReq, resp *ReportResp, certs []byte) (ExitInfo, error)
	Close() error
}
