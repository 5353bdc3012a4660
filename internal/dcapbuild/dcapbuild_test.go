package dcapbuild_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/cloudra/cloudra/internal/dcapbuild"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

func TestExtensionRoundTrip(t *testing.T) {
	yes, no := true, false
	inst := [16]byte{0xaa, 15: 0xbb}
	for _, x := range []*dcap.PCKExtension{
		{PPID: [16]byte{1, 2}, CompSVN: [16]byte{3, 3, 2, 2, 4, 1, 0, 5}, PCESVN: 11, CPUSVN: [16]byte{9, 8},
			PCEID: [2]byte{0, 1}, FMSPC: [6]byte{0xc1, 0x0d}, SGXType: dcap.SGXTypeStandard},
		{CompSVN: [16]byte{255, 0, 1}, PCESVN: 65535, FMSPC: [6]byte{1, 2, 3, 4, 5, 6}, SGXType: dcap.SGXTypeScalable,
			PlatformInstanceID: &inst, Configuration: &dcap.PCKConfiguration{DynamicPlatform: &yes, CachedKeys: &no, SMTEnabled: &yes}},
	} {
		der, err := dcapbuild.ExtensionDER(x)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dcap.ParsePCKExtension(der)
		if err != nil {
			t.Fatalf("%v: %v", x, err)
		}
		if !reflect.DeepEqual(got, x) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, x)
		}
	}
}

// TestExtensionDERFunc: the hook sees arcs .1–.5 in order and what it
// writes is what the extension holds.
func TestExtensionDERFunc(t *testing.T) {
	x := &dcap.PCKExtension{PCESVN: 3, SGXType: dcap.SGXTypeScalable}
	var arcs []int
	same, err := dcapbuild.ExtensionDERFunc(x, func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
		arcs = append(arcs, arc)
		dcapbuild.Entry(b, []int{arc}, body)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := dcapbuild.ExtensionDER(x); !bytes.Equal(same, want) || !slices.Equal(arcs, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("arcs %v; identity hook changes the encoding: %v", arcs, !bytes.Equal(same, want))
	}
	noFMSPC, err := dcapbuild.ExtensionDERFunc(x, func(b *cryptobyte.Builder, arc int, body func(*cryptobyte.Builder)) {
		if arc != 4 {
			dcapbuild.Entry(b, []int{arc}, body)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dcap.ParsePCKExtension(noFMSPC); err == nil {
		t.Error("extension without FMSPC parses")
	}
}

func header(version uint16, tee uint32) []byte {
	b := binary.LittleEndian.AppendUint16(nil, version)
	b = binary.LittleEndian.AppendUint16(b, dcap.AttestationKeyECDSAP256)
	b = binary.LittleEndian.AppendUint32(b, tee)
	b = append(b, 0, 0, 0, 0)
	vendor := dcap.IntelQEVendorID()
	b = append(b, vendor[:]...)
	return append(b, make([]byte, 20)...)
}

// TestSignatureData: what QECertData and AppendSignatureData write,
// dcap.ParseQuote reads back field by field, for v3 (QE data inline) and v4
// (wrapped in certification data type 6).
func TestSignatureData(t *testing.T) {
	qe := (&dcap.EnclaveReport{ISVProdID: 2, ISVSVN: 8, ReportData: [64]byte{7}}).Marshal()
	qeSig := bytes.Repeat([]byte{0x51}, 64)
	auth := []byte{0, 1, 2, 3}
	certData := []byte("chain\x00")
	quoteSig := bytes.Repeat([]byte{0x52}, 64)
	attKey := bytes.Repeat([]byte{0x53}, 64)
	for _, c := range []struct {
		signed []byte
		wrap   bool
	}{
		{append(header(3, dcap.TEETypeSGX), (&dcap.EnclaveReport{}).Marshal()...), false},
		{append(header(4, dcap.TEETypeTDX), (&dcap.TDReport{}).Marshal()...), true},
	} {
		inner := dcapbuild.QECertData(qe, qeSig, auth, dcap.CertTypePCKChain, certData)
		if _, err := dcap.ParseQECertData(inner); err != nil {
			t.Fatal(err)
		}
		raw := dcapbuild.AppendSignatureData(bytes.Clone(c.signed), quoteSig, attKey, c.wrap, inner)
		q, err := dcap.ParseQuote(raw)
		if err != nil {
			t.Fatalf("wrap %v: %v", c.wrap, err)
		}
		sd := q.Signature()
		if !bytes.Equal(q.SignedBytes(), c.signed) || !bytes.Equal(sd.Signature[:], quoteSig) || !bytes.Equal(sd.AttestationKey[:], attKey) ||
			!bytes.Equal(sd.QE.Report.Raw[:], qe) || !bytes.Equal(sd.QE.ReportSignature[:], qeSig) || !bytes.Equal(sd.QE.AuthData, auth) ||
			sd.QE.Cert.Type != dcap.CertTypePCKChain || !bytes.Equal(sd.QE.Cert.Data, certData) {
			t.Errorf("wrap %v: read back %+v", c.wrap, sd)
		}
		want := uint16(0)
		if c.wrap {
			want = dcap.CertTypeQEReport
		}
		if sd.OuterCertType != want {
			t.Errorf("outer certification data type %d, want %d", sd.OuterCertType, want)
		}
	}
}

var (
	issue = time.Date(2026, 5, 31, 12, 0, 0, 0, time.UTC)
	zero  = make([]byte, 64)
)

func tdxTCBInfo() dcapbuild.TCBInfo {
	module := dcapbuild.TDXModule{MRSigner: dcapbuild.Hex(make([]byte, 48)), Attributes: "0000000000000000", AttributesMask: "FFFFFFFFFFFFFFFF"}
	meta := func(i int) (string, string) {
		if i == 0 {
			return "BIOS", "Early Microcode Update"
		}
		return "", ""
	}
	return dcapbuild.TCBInfo{
		ID: "TDX", Version: 3, IssueDate: dcapbuild.Time(issue), NextUpdate: dcapbuild.Time(issue.AddDate(0, 0, 30)),
		FMSPC: dcapbuild.Hex([]byte{0xc1, 0x0d, 0x5a, 0, 0, 0x81}), PCEID: "0000", TCBEvaluationDataNumber: 19,
		TDXModule: &module,
		TDXModuleIdentities: []dcapbuild.TDXModuleIdentity{{ID: "TDX_01", TDXModule: module,
			TCBLevels: []dcapbuild.IdentityLevel{{TCB: dcapbuild.ISVSVN{ISVSVN: 4}, TCBDate: dcapbuild.Time(issue), TCBStatus: "UpToDate"}}}},
		TCBLevels: []dcapbuild.TCBLevel{{
			TCB:     dcapbuild.TCB{SGX: dcapbuild.Components([16]byte{3, 3}, meta), PCESVN: 11, TDX: dcapbuild.Components([16]byte{6, 1, 3}, nil)},
			TCBDate: dcapbuild.Time(issue), TCBStatus: "OutOfDate", AdvisoryIDs: []string{"INTEL-SA-00001"},
		}},
	}
}

func qeIdentity() dcapbuild.QEIdentity {
	return dcapbuild.QEIdentity{ID: "TD_QE", Version: 2, IssueDate: dcapbuild.Time(issue), NextUpdate: dcapbuild.Time(issue.AddDate(0, 0, 30)),
		TCBEvaluationDataNumber: 19, MiscSelect: "00000000", MiscSelectMask: "FFFFFFFF",
		Attributes: "11000000000000000000000000000000", AttributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
		MRSigner: dcapbuild.Hex(make([]byte, 32)), ISVProdID: 2,
		TCBLevels: []dcapbuild.IdentityLevel{{TCB: dcapbuild.ISVSVN{ISVSVN: 4}, TCBDate: dcapbuild.Time(issue), TCBStatus: "UpToDate"}}}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDocumentsParse: the documents, in their envelope, are what pcs
// parses (pcs rejects unknown and missing fields).
func TestDocumentsParse(t *testing.T) {
	info, err := pcs.ParseTCBInfo(dcapbuild.Envelope("tcbInfo", marshal(t, tdxTCBInfo()), zero))
	if err != nil {
		t.Fatal(err)
	}
	if info.TEE() != pcs.TDX || !info.IssueDate.Equal(issue) || info.FMSPC != [6]byte{0xc1, 0x0d, 0x5a, 0, 0, 0x81} ||
		len(info.TCBLevels) != 1 || info.TCBLevels[0].SGXComponents[0].Category != "BIOS" || len(info.TDXModuleIdentities) != 1 {
		t.Errorf("TCB Info read back as %+v", info)
	}
	id, err := pcs.ParseQEIdentity(dcapbuild.Envelope("enclaveIdentity", marshal(t, qeIdentity()), zero))
	if err != nil {
		t.Fatal(err)
	}
	if id.TEE() != pcs.TDX || id.ISVProdID != 2 || len(id.TCBLevels) != 1 {
		t.Errorf("QE Identity read back as %+v", id)
	}
}

func TestEnvelope(t *testing.T) {
	got := string(dcapbuild.Envelope("tcbInfo", []byte(`{"id":"SGX"}`), []byte{0xab, 0x01}))
	if want := `{"tcbInfo":{"id":"SGX"},"signature":"ab01"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := dcapbuild.Hex([]byte{0xab, 0x0c}), "AB0C"; got != want {
		t.Errorf("Hex %s, want %s", got, want)
	}
	if got, want := dcapbuild.Time(time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))), "2026-01-02T02:04:05Z"; got != want {
		t.Errorf("Time %s, want %s", got, want)
	}
}

// TestKeyOrder: the objects serialise with the key order of Intel's
// documents (the signature covers the bytes).
func TestKeyOrder(t *testing.T) {
	realTCB := vectortest.Read(t, "tdx/dcapqvl-v4-uptodate/collateral/tcb_info.json")
	realQE := vectortest.Read(t, "tdx/dcapqvl-v4-uptodate/collateral/qe_identity.json")
	ours := dcapbuild.Envelope("tcbInfo", marshal(t, tdxTCBInfo()), zero)
	for _, path := range [][]any{
		{"tcbInfo"}, {"tcbInfo", "tcbLevels", 0}, {"tcbInfo", "tcbLevels", 0, "tcb"},
		{"tcbInfo", "tdxModule"}, {"tcbInfo", "tdxModuleIdentities", 0}, {"tcbInfo", "tdxModuleIdentities", 0, "tcbLevels", 0},
	} {
		if got, want := keys(t, ours, path...), keys(t, realTCB, path...); got != want {
			t.Errorf("TCB Info %v keys %s, Intel %s", path, got, want)
		}
	}
	ours = dcapbuild.Envelope("enclaveIdentity", marshal(t, qeIdentity()), zero)
	for _, path := range [][]any{{"enclaveIdentity"}, {"enclaveIdentity", "tcbLevels", 0}} {
		if got, want := keys(t, ours, path...), keys(t, realQE, path...); got != want {
			t.Errorf("QE Identity %v keys %s, Intel %s", path, got, want)
		}
	}
}

// keys returns the keys, in document order, of the object at path (object
// keys and array indexes) in doc. Keys that only one side may carry
// (advisoryIDs, category, type) are left out.
func keys(t *testing.T, doc []byte, path ...any) string {
	t.Helper()
	raw := json.RawMessage(doc)
	for _, p := range path {
		switch p := p.(type) {
		case string:
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			raw = m[p]
		case int:
			var a []json.RawMessage
			if err := json.Unmarshal(raw, &a); err != nil || len(a) <= p {
				t.Fatalf("%v: %v", path, err)
			}
			raw = a[p]
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%v: not an object", path)
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		if k := tok.(string); k != "advisoryIDs" {
			out = append(out, k)
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return strings.Join(out, ",")
}
