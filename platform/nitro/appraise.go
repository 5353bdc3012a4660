package nitro

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/policy"
)

// appraise evaluates every rule of pol against the authentic document a,
// made at made and verified at t, recording each violated rule (all of
// them, not only the first) with its failed "policy.<rule>" check, and a
// passed check for each rule that holds. Rule names are the policy's keys.
func appraise(res *cloudra.Result, a *Attestation, made, t time.Time, pol *Policy) {
	n := len(res.Violations)
	p := appraisal{res: res, a: a}
	p.nonce(pol.Nonce)
	p.document(pol.Document)
	if !a.TPM && Debug(a) && !policy.Or(pol.AllowDebug, false) {
		p.violate("allow-debug", cloudra.ClassPolicy, "a production enclave (allow-debug: false)", "debug mode: PCR0, PCR1 and PCR2 are all zero")
	}
	p.pcrs(pol.PCRs)
	p.exact("user-data", cloudra.ClassBinding, pol.UserData, a.UserData)
	p.spki(pol.UserDataSPKI)
	p.publicKey(pol.PublicKey)
	if pol.MaxAge != "" {
		if d, err := maxAge(pol.MaxAge); err != nil {
			p.violate("max-age", cloudra.ClassPolicy, "a positive duration", err.Error())
		} else if age := t.Sub(made); age > d {
			p.violate("max-age", cloudra.ClassFresh, "at most "+d.String()+" old", age.Round(time.Millisecond).String())
		} else {
			p.pass("policy.max-age", "%s old", age.Round(time.Millisecond))
		}
	}
	if len(res.Violations) == n {
		res.Add("policy", cloudra.OutcomePass, "", "")
	}
}

type appraisal struct {
	res *cloudra.Result
	a   *Attestation
}

func (p *appraisal) violate(rule string, class cloudra.Class, want, got string) {
	p.res.Violate(rule, class, want, got)
	cls := class
	if cls == "" {
		cls = cloudra.ClassPolicy
	}
	p.res.Add("policy."+rule, cloudra.OutcomeFail, cls, "want "+want+", got "+got)
}

func (p *appraisal) pass(check, format string, args ...any) { p.res.Passf(check, format, args...) }

// nonce requires the document to carry the relying party's nonce exactly:
// not a prefix, not padded, and present (a document without one answers
// no challenge).
func (p *appraisal) nonce(want cloudra.HexBytes) {
	if len(want) == 0 {
		return
	}
	got := p.a.Nonce
	switch {
	case !got.Present || got.Null:
		p.res.Violate("nonce", cloudra.ClassBinding, hex.EncodeToString(want), got.String())
		p.res.Failf(checkNonce, cloudra.ClassBinding, "the document carries no nonce (%s); the relying party expects %x", got, []byte(want))
	case !bytes.Equal(got.Value, want):
		p.res.Violate("nonce", cloudra.ClassBinding, hex.EncodeToString(want), hex.EncodeToString(got.Value))
		p.res.Failf(checkNonce, cloudra.ClassBinding, "the document's nonce is not the relying party's")
	default:
		p.res.Passf(checkNonce, "the document carries the relying party's %d-byte nonce", len(want))
	}
}

func (p *appraisal) document(want string) {
	got := DocumentEnclave
	if p.a.TPM {
		got = DocumentNitroTPM
	}
	if want == "" {
		want = DocumentEnclave
	}
	if want != got {
		p.violate("document", cloudra.ClassPolicy, want+" attestation document", got+" attestation document (the policy's document rule says which is accepted)")
	}
}

// pcrs applies each PCR's allow-list. An index listed with no value
// accepts nothing: an empty allow-list is a mistake, never "any".
func (p *appraisal) pcrs(lists map[string][]cloudra.HexBytes) {
	// Decimal keys without leading zeros sort numerically by length, then
	// text.
	keys := slices.SortedFunc(maps.Keys(lists), func(x, y string) int {
		return cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(x, y))
	})
	for _, k := range keys {
		rule := "pcrs." + k
		i, err := pcrIndex(k)
		if err != nil {
			p.violate(rule, cloudra.ClassPolicy, "a PCR index 0–31", err.Error())
			continue
		}
		list := lists[k]
		got := p.a.PCR(i)
		switch {
		case len(list) == 0:
			p.violate(rule, cloudra.ClassPolicy, "at least one allowed value (an empty allow-list accepts nothing)", hexOrAbsent(got))
		case got == nil:
			p.violate(rule, cloudra.ClassPolicy, fmt.Sprintf("PCR%d in the document", i), "absent")
		case !slices.ContainsFunc(list, func(w cloudra.HexBytes) bool { return bytes.Equal(w, got) }):
			p.violate(rule, cloudra.ClassPolicy, "one of "+joinHex(list), hex.EncodeToString(got))
		default:
			p.pass("policy."+rule, "PCR%d is an allowed value", i)
		}
	}
}

func hexOrAbsent(b []byte) string {
	if b == nil {
		return "absent"
	}
	return hex.EncodeToString(b)
}

func joinHex(list []cloudra.HexBytes) string {
	s := make([]string, len(list))
	for i, w := range list {
		s[i] = hex.EncodeToString(w)
	}
	return strings.Join(s, ", ")
}

// exact requires an optional field to equal want, when want is set.
func (p *appraisal) exact(rule string, class cloudra.Class, want cloudra.HexBytes, got Optional) {
	if len(want) == 0 {
		return
	}
	if !got.Present || got.Null || !bytes.Equal(want, got.Value) {
		p.violate(rule, class, hex.EncodeToString(want), got.String())
		return
	}
	p.pass("policy."+rule, "equal")
}

// spki binds user_data to a TLS key: the enclave put the DER
// SubjectPublicKeyInfo of the certificate it serves in user_data, so a TLS
// session with that certificate ends in the attested enclave.
func (p *appraisal) spki(want cloudra.HexBytes) {
	if len(want) == 0 {
		return
	}
	got := p.a.UserData
	if got.Present && !got.Null && bytes.Equal(want, got.Value) {
		p.pass(checkTLSBinding, "user_data is the SubjectPublicKeyInfo of the given TLS certificate")
		return
	}
	p.res.Violate("user-data-spki", cloudra.ClassBinding, "the TLS certificate's SubjectPublicKeyInfo "+hex.EncodeToString(want), got.String())
	p.res.Failf(checkTLSBinding, cloudra.ClassBinding, "user_data is not the SubjectPublicKeyInfo of the given TLS certificate")
}

// checkTLSBinding is the named check of the TLS key binding.
const checkTLSBinding = "binding.tls-spki"

// publicKey requires public_key to equal want, or want to be the SHA-256 of
// public_key.
func (p *appraisal) publicKey(want cloudra.HexBytes) {
	if len(want) == 0 {
		return
	}
	got := p.a.PublicKey
	if got.Present && !got.Null {
		sum := sha256.Sum256(got.Value)
		if bytes.Equal(want, got.Value) || bytes.Equal(want, sum[:]) {
			p.pass("policy.public-key", "equal")
			return
		}
	}
	p.violate("public-key", cloudra.ClassBinding, hex.EncodeToString(want)+" (the key, or its SHA-256)", got.String())
}
