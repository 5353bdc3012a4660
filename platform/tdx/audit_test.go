package tdx

// Tests added by the pitfall audit (docs/pitfalls-dcap.md): entries of the
// pitfall catalogue and vector expectations that had no test, or only one at
// a lower layer than the verifier.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/checktest"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/internal/vectortest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/policy"
)

// C1: MISCSELECT and non-debug ATTRIBUTES bits of the QE report are
// compared under the QE Identity masks; bits outside the mask are not.
func TestAuditQEIdentityMasks(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	for name, mut := range map[string]func(q *dcaptest.Quote){
		"miscselect":               func(q *dcaptest.Quote) { q.QEReport.MiscSelect = 1 },
		"attribute flag in mask":   func(q *dcaptest.Quote) { q.QEReport.Attributes[1] |= 1 },
		"attribute MODE64 cleared": func(q *dcaptest.Quote) { q.QEReport.Attributes[0] &^= 0x10 },
	} {
		t.Run(name, func(t *testing.T) {
			q := k.TDQuote(4, false)
			mut(q)
			res := run(t, v, k, q.Bytes(), k.Collateral(true), nil)
			checktest.WantFail(t, res, "qe-identity.match", cloudra.ClassPolicy)
			for _, c := range []cloudra.Class{cloudra.ClassSig, cloudra.ClassChain, cloudra.ClassParse, cloudra.ClassBinding} {
				if res.HasFailure(c) {
					t.Errorf("fails for another reason (%s)\n%s", c, dcaptest.Dump(res))
				}
			}
		})
	}
	// Positive twin: XFRM (bytes 8–15) is outside the default mask.
	q := k.TDQuote(4, false)
	q.QEReport.Attributes[8] = 0xff
	if res := run(t, v, k, q.Bytes(), k.Collateral(true), nil); res.Verdict != cloudra.Pass {
		t.Fatalf("bits outside the mask: %s\n%s", res.Verdict, dcaptest.Dump(res))
	}
}

// C4: TCB Info version 2 for a TDX quote (TDX needs version 3). cloudra
// rejects the document as unparseable collateral at tcb-info.verify.
func TestAuditTCBInfoVersion2(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	inner := k.DefaultTCBInfo(true).Marshal()
	v2 := bytes.Replace(inner, []byte(`"version":3,`), []byte(`"version":2,`), 1)
	if bytes.Equal(v2, inner) {
		t.Fatal("fixture changed")
	}
	res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(v2, k.DefaultQEIdentity(true).Marshal()), nil)
	checktest.WantFail(t, res, "tcb-info.verify", cloudra.ClassParse)
	if res.TCB != nil {
		t.Errorf("TCB status without TCB Info: %+v", res.TCB)
	}
}

// C6: component arrays of the wrong length or missing, through the whole
// verifier (the pcs package tests the parser alone).
func TestAuditComponentArrays(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	inner := k.DefaultTCBInfo(true).Marshal()
	cases := map[string][]byte{
		"17 SGX components": bytes.Replace(inner, []byte(`"sgxtcbcomponents":[`), []byte(`"sgxtcbcomponents":[{"svn":0},`), 1),
		"17 TDX components": bytes.Replace(inner, []byte(`"tdxtcbcomponents":[`), []byte(`"tdxtcbcomponents":[{"svn":0},`), 1),
		"15 TDX components": bytes.Replace(inner, []byte(`"tdxtcbcomponents":[{"svn":0},`), []byte(`"tdxtcbcomponents":[`), 1),
	}
	// tdxtcbcomponents absent from the first level.
	i := bytes.Index(inner, []byte(`,"tdxtcbcomponents":[`))
	j := bytes.Index(inner[i:], []byte(`]`))
	cases["tdxtcbcomponents absent"] = append(bytes.Clone(inner[:i]), inner[i+j+1:]...)
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(doc, inner) {
				t.Fatal("fixture changed")
			}
			res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(doc, k.DefaultQEIdentity(true).Marshal()), nil)
			checktest.WantFail(t, res, "tcb-info.verify", cloudra.ClassParse)
		})
	}
}

// C6: levels out of order. Levels are walked in signed document order
// (Intel signs them highest first); a document listing the lower level
// first matches it first, so the answer is the stricter status, never an
// acceptance the sorted document would not give.
func TestAuditLevelsNotSorted(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	ti := k.DefaultTCBInfo(true)
	ti.Levels[0], ti.Levels[1] = ti.Levels[1], ti.Levels[0]
	ti.Levels[0].PCESVN = 5 // the OutOfDate level, now first, matches too
	res := run(t, v, k, k.TDQuote(4, false).Bytes(), k.CollateralWith(ti.Marshal(), k.DefaultQEIdentity(true).Marshal()), nil)
	checktest.WantFail(t, res, "tcb.status", cloudra.ClassPolicy)
	if res.TCB == nil || res.TCB.Status != "OutOfDate" {
		t.Fatalf("TCB %+v", res.TCB)
	}
}

// C7: a TD report 1.5 whose second TEE_TCB_SVN is bad. With the module at
// launch OutOfDate, TEE_TCB_SVN_2 decides the relaunch rule: a current
// module gives TDRelaunchAdvised (positive twin), a module not updated
// stays OutOfDate (REJECT/policy), and a module major version without a
// module identity is a collateral mismatch.
func TestAuditTEETCBSVN2(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	quote := func(svn2 [16]byte) []byte {
		q := k.TDQuote(5, true)
		r := dcaptest.TDBody(true)
		r.TEETCBSVN = [16]byte{3, 1, 3} // module isvsvn 3: level "2 OutOfDate"
		r.TEETCBSVN2 = svn2
		q.Body = r.Marshal()
		return q.Bytes()
	}
	res := run(t, v, k, quote([16]byte{6, 1, 3}), k.Collateral(true), nil)
	if res.Verdict != cloudra.Pass || res.TCB.Status != "TDRelaunchAdvised" {
		t.Fatalf("module updated: %s %+v\n%s", res.Verdict, res.TCB, dcaptest.Dump(res))
	}
	res = run(t, v, k, quote([16]byte{3, 1, 3}), k.Collateral(true), nil)
	checktest.WantFail(t, res, "tcb.status", cloudra.ClassPolicy)
	if res.TCB.Status != "OutOfDate" {
		t.Errorf("module not updated: %+v", res.TCB)
	}
	res = run(t, v, k, quote([16]byte{6, 3, 3}), k.Collateral(true), nil)
	checktest.WantFail(t, res, "tcb.platform", cloudra.ClassCollateral)
	if res.TCB != nil {
		t.Errorf("TCB status despite a module mismatch: %+v", res.TCB)
	}
}

// C11: KL per policy, reserved SEC and OTHER bits always, XFAM outside the
// policy's allow-list.
func TestAuditTDAttributes(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	quote := func(attrs uint64, xfam byte) []byte {
		return tdBodyQuote(k, func(r *dcap.TDReport) {
			binary.LittleEndian.PutUint64(r.TDAttributes[:], attrs)
			r.XFAM[0] = xfam
		})
	}
	sept := uint64(dcap.TDAttrSEPTVEDisable)
	if res := run(t, v, k, quote(sept|dcap.TDAttrKL, 0xe7), k.Collateral(true), nil); res.Verdict != cloudra.Pass {
		t.Errorf("KL allowed by default: %s", dcaptest.Dump(res))
	}
	checktest.WantFail(t, run(t, v, k, quote(sept|dcap.TDAttrKL, 0xe7), k.Collateral(true), &Policy{AllowKL: policy.Bool(false)}), "td-attributes.kl", cloudra.ClassPolicy)
	checktest.WantFail(t, run(t, v, k, quote(sept|1<<20, 0xe7), k.Collateral(true), nil), "td-attributes.reserved", cloudra.ClassPolicy)
	checktest.WantFail(t, run(t, v, k, quote(sept|1<<40, 0xe7), k.Collateral(true), nil), "td-attributes.reserved", cloudra.ClassPolicy)
	checktest.WantFail(t, run(t, v, k, quote(sept|1<<40, 0xe7), k.Collateral(true), &Policy{AllowDebug: policy.Bool(true)}), "td-attributes.reserved", cloudra.ClassPolicy)
	allow := &Policy{XFAM: []cloudra.HexBytes{{0xe7, 0x02, 0x06, 0, 0, 0, 0, 0}}}
	if res := run(t, v, k, quote(sept, 0xe7), k.Collateral(true), allow); res.Verdict != cloudra.Pass {
		t.Errorf("XFAM in the allow-list: %s", dcaptest.Dump(res))
	}
	checktest.WantFail(t, run(t, v, k, quote(sept, 0xff), k.Collateral(true), allow), "xfam", cloudra.ClassPolicy)
}

// A2: one byte changed inside the signed TBS of the PCK leaf or of the PCK
// CA, so that the certificate still parses: a chain failure, because the
// issuer's signature no longer verifies (not a parse failure).
func TestAuditTBSCorruption(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	corrupt := func(c *x509.Certificate) []byte {
		der := bytes.Clone(c.Raw)
		i := bytes.LastIndex(der, []byte("forged for tests"))
		if i < 0 {
			t.Fatal("subject not found")
		}
		der[i] ^= 0x20 // "forged" → "Forged": still a valid PrintableString/UTF8String
		if _, err := x509.ParseCertificate(der); err != nil {
			t.Fatalf("corrupted certificate must still parse: %v", err)
		}
		return der
	}
	pemOf := func(cs ...[]byte) []byte {
		var b []byte
		for _, c := range cs {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
		}
		return b
	}
	for name, chain := range map[string][]byte{
		"leaf TBS":         pemOf(corrupt(k.PCK), k.CA.Raw, k.Root.Raw),
		"intermediate TBS": pemOf(k.PCK.Raw, corrupt(k.CA), k.Root.Raw),
	} {
		t.Run(name, func(t *testing.T) {
			q := k.TDQuote(4, false)
			q.CertData = chain
			res := run(t, v, k, q.Bytes(), k.Collateral(true), nil)
			checktest.WantFail(t, res, "pck.chain", cloudra.ClassChain)
			if res.HasFailure(cloudra.ClassParse) || res.Claims != nil {
				t.Errorf("want a chain failure only, without claims\n%s", dcaptest.Dump(res))
			}
		})
	}
}

// A5: the quote truncated at every length, and a type-5 certification data
// without a chain, are parse failures (never a panic, never claims).
func TestAuditTruncation(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	col := k.Collateral(true)
	b := k.TDQuote(5, true).Bytes()
	step := 1
	if testing.Short() || raceEnabled {
		step = 7
	}
	for n := 0; n < len(b); n += step {
		res := run(t, v, k, b[:n], col, nil)
		if res.Verdict != cloudra.Fail || !res.HasFailure(cloudra.ClassParse) || res.Claims != nil {
			t.Fatalf("truncated at %d: %s %v", n, res.Verdict, res.FailureClasses())
		}
	}
	q := k.TDQuote(4, false)
	q.CertData = nil
	checktest.WantFail(t, run(t, v, k, q.Bytes(), col, nil), "pck.chain", cloudra.ClassParse)
	q.CertData = []byte{0}
	checktest.WantFail(t, run(t, v, k, q.Bytes(), col, nil), "pck.chain", cloudra.ClassParse)
}

// V4: zero padding after the signature data is accepted and reported;
// any non-zero trailing byte is a parse failure.
func TestAuditTrailingBytes(t *testing.T) {
	k := testKit()
	v := forgedVerifier(t, k)
	b := k.TDQuote(4, false).Bytes()
	res := run(t, v, k, append(bytes.Clone(b), make([]byte, 70)...), k.Collateral(true), nil)
	if c, _ := res.Check("quote.parse"); res.Verdict != cloudra.Pass || !strings.Contains(c.Detail, "70 bytes of zero padding") {
		t.Fatalf("zero padding: %s %q", res.Verdict, c.Detail)
	}
	for _, tail := range [][]byte{{1}, append(make([]byte, 69), 1), []byte("\nextra bytes\n")} {
		checktest.WantFail(t, run(t, v, k, append(bytes.Clone(b), tail...), k.Collateral(true), nil), "quote.parse", cloudra.ClassParse)
	}
	for _, tc := range []struct {
		quote, col, at string
		pad            string
	}{
		{"tdx/dcapqvl-v4-uptodate/quote.bin", "tdx/dcapqvl-v4-uptodate/collateral", "2025-07-01T00:00:00Z", "70 bytes of zero padding"},
		{"tdx/automata-v4-gcp/quote.bin", "tdx/automata-v4-gcp/collateral", "2025-10-24T07:10:18Z", "3065 bytes of zero padding"},
	} {
		q := vectortest.Read(t, tc.quote)
		plain, _ := NewVerifier()
		res, err := plain.Verify(context.Background(), Evidence{Quote: q}, dcaptest.LoadCollateral(t, tc.col), nil, cloudra.Options{Time: vectortest.Time(t, tc.at)})
		res = checktest.Result(t, res, err)
		if c, _ := res.Check("quote.parse"); c.Outcome != cloudra.OutcomePass || !strings.Contains(c.Detail, tc.pad) {
			t.Errorf("%s: quote.parse %s %q", tc.quote, c.Outcome, c.Detail)
		}
	}
}

// Vector values of PROVENANCE.md not asserted by TestVectors: PCK leaf
// serial (as the result's signer), TCB date, further TD fields; and the
// go-tdx-guest quote at 2053-07-01, named by the vector index as
// REJECT/fresh.
func TestAuditVectorDetails(t *testing.T) {
	v, err := NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, at string
		trim          int
		serial, date  string
		claims        map[string]string
	}{
		{name: "automata-v4-gcp", dir: "tdx/automata-v4-gcp", at: "2025-10-24T07:10:18Z",
			serial: "b6e84ed5c5dee11da48e3b4c4d35c2ae55ab2153", date: "2023-08-09T00:00:00Z",
			claims: map[string]string{"mrseam": "ffc97a88587660fb04e1f7c851300c96ae0b5a463ac46d035d16c2d9f36d0ed1d23775bcbd27deb219e3a3cc28023895",
				"rtmr0": strings.Repeat("00", 48), "report_data": strings.Repeat("00", 64), "fmspc": "00806f050000"}},
		{name: "dcapqvl-v4-uptodate", dir: "tdx/dcapqvl-v4-uptodate", at: "2025-07-01T00:00:00Z",
			serial: "3c16ed54eacbb4ced072be72630c85788cf46e36", date: "2024-03-13T00:00:00Z",
			claims: map[string]string{"mrseam": "5b38e33a6487958b72c3c12a938eaa5e3fd4510c51aeeab58c7d5ecee41d7c436489d6c8e4f92f160b7cad34207b00c1",
				"rtmr2": "d833feef2cd945148aa38ead2c53e9b7f138190aaaebfc551dccd829fc207aa3ba80b70870d7330733642e01d48c3132",
				"rtmr3": strings.Repeat("00", 48), "mrconfigid": strings.Repeat("00", 48), "mrowner": strings.Repeat("00", 48), "mrownerconfig": strings.Repeat("00", 48)}},
		{name: "dcapqvl-near-v4", dir: "tdx/dcapqvl-near-v4", at: "2025-09-15T00:00:00Z", date: "2024-03-13T00:00:00Z",
			claims: map[string]string{"fmspc": "20a06f000000"}},
		{name: "dcapqvl-v5-td15-tcb-not-supported", dir: "tdx/dcapqvl-v5-td15-tcb-not-supported", at: "2026-03-01T00:00:00Z",
			serial: "e825941783e2cdb6a42d95a56f871957855b0edd",
			claims: map[string]string{"tee_tcb_svn": "07010300000000000000000000000000",
				"mrseam":        "49b66faa451d19ebbdbe89371b8daf2b65aa3984ec90110343e9e2eec116af08850fa20e3b1aa9a874d77a65380ee7e6",
				"td_attributes": "0000001000000000", "xfam": "e718060000000000", "rtmr0": strings.Repeat("00", 48),
				"report_data": "d2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce47728" + strings.Repeat("00", 32), "fmspc": "90c06f000000"}},
		{name: "gotdxguest-v5-td15", dir: "tdx/gotdxguest-v5-td15", at: "2026-02-25T00:00:00Z",
			serial: "281450cd833a6cf298ea01209af1400091fb756b", date: "2024-11-13T00:00:00Z"},
		{name: "gotdxguest-v4-spr-e4", dir: "tdx/gotdxguest-v4-spr-e4", at: "2023-07-01T01:00:00Z", trim: 4935,
			claims: map[string]string{"tee_tcb_svn": "03000400000000000000000000000000", "xfam": "e71a060000000000",
				"rtmr0":       "2927da70461cd63266f43230cc1849c03ef25ebe490062a801d8fcc80af42976823adf08f833c1e50b51779c6593f32a",
				"rtmr1":       "2c700b8ba9b85783f8be9fb9443647bdc0bb3c50747f06297cc6538c25a5f589c4b56d035c59107c6bc5800db2cacb61",
				"rtmr2":       "8652f0caaba7e215ea442dc36a4499d8fec3362f3a0b2ca151cbe4b3e6466fe59c7368b3c2287fc7c3bf5c924eb4424e",
				"report_data": "6c62dec1b8191749a31dab490be532a35944dea47caef1f980863993d9899545eb7406a38d1eed313b987a467dacead6f0c87a6d766c66f6f29f8acb281f1113",
				"fmspc":       "50806f000000"}},
		{name: "trustee-v4-spr-tdx_quote_4", dir: "tdx/trustee-v4-spr-tdx_quote_4", at: "2023-07-01T01:00:00Z", date: "2023-02-15T00:00:00Z",
			claims: map[string]string{"mrseam": "2fd279c16164a93dd5bf373d834328d46008c2b693af9ebb865b08b2ced320c9a89b4869a9fab60fbe9d0c5a5363c656",
				"rtmr1":       "559cfcf42716ed6c40a48a73d5acb7da255435012f0a9f00fbe8c1c57612ede486a5684c4c9ff3ddf52315fcdca3a596",
				"rtmr2":       strings.Repeat("00", 48),
				"report_data": "7c71fe2c86eff65a7cf8dbc22b3275689fd0464a267baced1bf94fc1324656aeb755da3d44d098c0c87382f3a5f85b45c8a28fee1d3bdb38342bf96671501429"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := vectortest.Read(t, tc.dir+"/quote.bin")
			if tc.trim > 0 {
				q = q[:tc.trim]
			}
			col := dcaptest.LoadCollateral(t, tc.dir+"/collateral")
			res, err := v.Verify(context.Background(), Evidence{Quote: q}, col, nil, cloudra.Options{Time: vectortest.Time(t, tc.at)})
			res = checktest.Result(t, res, err)
			dcaptest.WantAuthentic(t, res)
			if tc.serial != "" && !strings.Contains(res.Signer, "PCK certificate "+tc.serial+" ") {
				t.Errorf("signer %q, want serial %s", res.Signer, tc.serial)
			}
			if tc.date != "" && (res.TCB == nil || res.TCB.Date != tc.date) {
				t.Errorf("TCB %+v, want date %s", res.TCB, tc.date)
			}
			for name, want := range tc.claims {
				if got := res.Claim(name); got != want {
					t.Errorf("claim %s = %v, want %s", name, got, want)
				}
			}
		})
	}
	t.Run("gotdxguest-v4-spr-e4 at 2053-07-01", func(t *testing.T) {
		q := vectortest.Read(t, "tdx/gotdxguest-v4-spr-e4/quote.bin")[:4935]
		col := dcaptest.LoadCollateral(t, "tdx/gotdxguest-v4-spr-e4/collateral")
		res, err := v.Verify(context.Background(), Evidence{Quote: q}, col, nil, cloudra.Options{Time: vectortest.Time(t, "2053-07-01T00:00:00Z")})
		res = checktest.Result(t, res, err)
		if res.Verdict != cloudra.Fail || !res.HasFailure(cloudra.ClassFresh) {
			t.Fatalf("want REJECT/fresh\n%s", dcaptest.Dump(res))
		}
	})
}
