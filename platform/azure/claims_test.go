package azure

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudra/cloudra/internal/vectortest"
)

// realKeys returns the HCLAkPub and HCLEkPub JWKs of a real vector.
func realKeys(t *testing.T) (ak, ek *JWK) {
	t.Helper()
	rc, err := ParseRuntimeClaims(vectortest.Read(t, vectors[1].dir+"/runtime_claims.json"))
	if err != nil {
		t.Fatal(err)
	}
	ak, err = rc.Key(KidAK)
	if err != nil {
		t.Fatal(err)
	}
	ek, err = rc.Key(KidEK)
	if err != nil {
		t.Fatal(err)
	}
	return ak, ek
}

func jwkJSON(kid string, k *JWK) string {
	return `{"kid":"` + kid + `","kty":"RSA","e":"AQAB","n":"` + k.N + `"}`
}

// TestRuntimeClaimsRejectCaseFoldedDuplicates: encoding/json matches member
// names to fields case-insensitively with Unicode simple folding and keeps
// the last match, so two names that fold alike are duplicates (docs/pitfalls-tpm.md E2).
// Each document is rejected as a parse error naming both spellings.
func TestRuntimeClaimsRejectCaseFoldedDuplicates(t *testing.T) {
	ak, ek := realKeys(t)
	keys := `"keys":[` + jwkJSON(KidAK, ak) + `]`
	// The premise: encoding/json takes the later, folded spelling.
	var vc VMConfiguration
	if err := json.Unmarshal([]byte("{\"secure-boot\":false,\"\u017fecure-Boot\":true}"), &vc); err != nil || vc.SecureBoot == nil || !*vc.SecureBoot {
		t.Fatalf("encoding/json no longer folds member names (%v); revisit checkJSON", err)
	}
	for _, tc := range []struct {
		name, doc, first, second string
	}{
		{"secure-boot", `{` + keys + `,"vm-configuration":{"secure-boot":false,"Secure-Boot":true}}`, "secure-boot", "Secure-Boot"},
		{"secure-boot-reversed", `{` + keys + `,"vm-configuration":{"SECURE-BOOT":true,"secure-boot":false}}`, "SECURE-BOOT", "secure-boot"},
		{"keys-upper", `{"keys":[` + jwkJSON(KidEK, ek) + `],"KEYS":[` + jwkJSON(KidAK, ak) + `]}`, "keys", "KEYS"},
		{"keys-mixed", `{"keys":[` + jwkJSON(KidEK, ek) + `],"keyS":[` + jwkJSON(KidAK, ak) + `]}`, "keys", "keyS"},
		// U+017F LATIN SMALL LETTER LONG S folds to 's'.
		{"keys-long-s", `{"keys":[` + jwkJSON(KidEK, ek) + "],\"key\u017f\":[" + jwkJSON(KidAK, ak) + `]}`, "keys", "key\u017f"},
		{"keys-long-s-json-escape", `{"keys":[` + jwkJSON(KidEK, ek) + `],"key\u017f":[` + jwkJSON(KidAK, ak) + `]}`, "keys", "key\u017f"},
		// U+212A KELVIN SIGN folds to 'k'.
		{"keys-kelvin", `{"keys":[` + jwkJSON(KidEK, ek) + "],\"\u212aeys\":[" + jwkJSON(KidAK, ak) + `]}`, "keys", "\u212aeys"},
		{"jwk-kty-kelvin", `{"keys":[{"kid":"` + KidAK + `","kty":"EC","\u212aty":"RSA","e":"AQAB","n":"` + ak.N + `"}]}`, "kty", "\u212aty"},
		{"user-data", `{` + keys + `,"user-data":"00","User-Data":"01"}`, "user-data", "User-Data"},
		{"jwk-kid", `{"keys":[{"kid":"` + KidEK + `","KID":"` + KidAK + `","kty":"RSA","e":"AQAB","n":"` + ak.N + `"}]}`, "kid", "KID"},
		{"jwk-n", `{"keys":[{"kid":"` + KidAK + `","kty":"RSA","e":"AQAB","n":"` + ek.N + `","N":"` + ak.N + `"}]}`, "n", "N"},
		{"jwk-key-ops", `{"keys":[{"kid":"` + KidAK + `","kty":"RSA","e":"AQAB","n":"` + ak.N + `","key_ops":[],"Key_Ops":["sign"]}]}`, "key_ops", "Key_Ops"},
		// Members no struct reads are compared the same way.
		{"unknown", `{` + keys + `,"x-extra":1,"X-Extra":2}`, "x-extra", "X-Extra"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRuntimeClaims([]byte(tc.doc))
			var pe *ParseError
			if err == nil || !asParseError(err, &pe) {
				t.Fatalf("err %v, want a *ParseError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "duplicate") || !strings.Contains(msg, `"`+tc.first+`"`) || !strings.Contains(msg, `"`+tc.second+`"`) {
				t.Errorf("reason %q does not name %q and %q as duplicates", msg, tc.first, tc.second)
			}
		})
	}

	// A known member spelt other than the spec'd name is rejected even
	// alone: encoding/json would read it as the member, a case-sensitive
	// reader as an unknown one.
	for _, tc := range []struct{ name, doc, spelt string }{
		{"secure-boot-alone", `{` + keys + `,"vm-configuration":{"Secure-Boot":true}}`, "Secure-Boot"},
		{"keys-alone", `{"KEYS":[` + jwkJSON(KidAK, ak) + `]}`, "KEYS"},
		{"kid-alone", `{"keys":[{"Kid":"` + KidAK + `","kty":"RSA","e":"AQAB","n":"` + ak.N + `"}]}`, "Kid"},
		{"vm-unique-id-lower", `{` + keys + `,"vm-configuration":{"vmuniqueid":"x"}}`, "vmuniqueid"},
		{"vm-configuration-long-s", `{` + keys + `,"vm-configuration":{"\u017fecure-boot":true}}`, "\u017fecure-boot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRuntimeClaims([]byte(tc.doc))
			var pe *ParseError
			if err == nil || !asParseError(err, &pe) || !strings.Contains(err.Error(), `"`+tc.spelt+`"`) || !strings.Contains(err.Error(), "not spelt") {
				t.Fatalf("err %v, want a *ParseError naming %q", err, tc.spelt)
			}
		})
	}

	// Exact spellings, and members that only look alike without folding
	// alike ("secure_boot"), still parse.
	rc, err := ParseRuntimeClaims([]byte(`{` + keys + `,"vm-configuration":{"secure-boot":true,"secure_boot":false,"vmUniqueId":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if sb := rc.VMConfiguration.SecureBoot; sb == nil || !*sb {
		t.Errorf("secure-boot %v", sb)
	}
}

// TestRuntimeClaimsSecondKeysSetNeverSuppliesAK: whatever spelling a second
// "keys" array takes, HCLAkPub is never read from it: the claims are
// rejected before any key is selected.
func TestRuntimeClaimsSecondKeysSetNeverSuppliesAK(t *testing.T) {
	ak, ek := realKeys(t)
	only := `[` + jwkJSON(KidEK, ek) + `]`
	attacker := `[` + jwkJSON(KidAK, ak) + `]`
	for _, name := range []string{"keys", "KEYS", "Keys", "keyS", "key\u017f", "\u212aeys", "\u212aEY\u017f", `key\u017f`, `\u212aeys`, `\u004beys`} {
		for _, doc := range []string{
			`{"keys":` + only + `,"` + name + `":` + attacker + `}`,
			`{"` + name + `":` + attacker + `,"keys":` + only + `}`,
		} {
			rc, err := ParseRuntimeClaims([]byte(doc))
			if err == nil {
				k, kerr := rc.AKPub()
				t.Fatalf("%s: parsed (AKPub %v, %v)", doc, k != nil, kerr)
			}
			if !strings.Contains(err.Error(), "duplicate") {
				t.Errorf("%s: %v", doc, err)
			}
		}
	}
	// The same set under a folded name alone is not "keys" either.
	for _, name := range []string{"KEYS", "key\u017f", "\u212aeys"} {
		if _, err := ParseRuntimeClaims([]byte(`{"` + name + `":` + attacker + `}`)); err == nil {
			t.Errorf("%q accepted as keys", name)
		}
	}
	// Control: the set under "keys" supplies the AK.
	rc, err := ParseRuntimeClaims([]byte(`{"keys":` + attacker + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.AKPub(); err != nil {
		t.Fatal(err)
	}
}

// TestClaimsSchemaMatchesStructs: the exact-spelling table of checkJSON
// lists the json names of the structs ParseRuntimeClaims decodes.
func TestClaimsSchemaMatchesStructs(t *testing.T) {
	names := func(typ reflect.Type) []string {
		var out []string
		for i := range typ.NumField() {
			tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if tag != "" && tag != "-" {
				out = append(out, tag)
			}
		}
		return out
	}
	same := func(what string, s *schema, want []string) {
		if len(s.names) != len(want) {
			t.Errorf("%s: schema %v, struct %v", what, s.names, want)
		}
		for _, n := range want {
			if s.names[foldKey(n)] != n {
				t.Errorf("%s: %q missing from the schema", what, n)
			}
		}
	}
	same("JWK", claimsSchema.child["keys"], names(reflect.TypeFor[JWK]()))
	same("VMConfiguration", claimsSchema.child["vm-configuration"], names(reflect.TypeFor[VMConfiguration]()))
	same("document", claimsSchema, []string{"keys", "vm-configuration", "user-data"})
}

// TestFoldKeyMatchesEncodingJSON: foldKey equality is bytes.EqualFold.
func TestFoldKeyMatchesEncodingJSON(t *testing.T) {
	for _, p := range [][2]string{
		{"keys", "KEYS"}, {"keys", "key\u017f"}, {"keys", "\u212aeys"}, {"secure-boot", "\u017fECURE-BOOT"},
		{"\u00e5", "\u212b"}, {"kid", "kíd"}, {"n", "m"}, {"secure-boot", "secure_boot"}, {"e", "\u0117"},
	} {
		if got, want := foldKey(p[0]) == foldKey(p[1]), strings.EqualFold(p[0], p[1]); got != want {
			t.Errorf("%q, %q: foldKey equal %v, EqualFold %v", p[0], p[1], got, want)
		}
	}
}

func asParseError(err error, out **ParseError) bool { return errors.As(err, out) }
