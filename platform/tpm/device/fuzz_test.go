package device_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/cloudra/cloudra/platform/tpm/device"
	"github.com/google/go-tpm/tpm2"
)

func FuzzParsePCRSelection(f *testing.F) {
	for _, s := range []string{"sha256:0,1,7", "sha1:0,1+sha256:all", "sha256:0-7", "sha384:15,16,22", "0x0b:1", "sha256:", "+", "sha256:1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := device.ParsePCRSelection(s)
		if err != nil {
			return
		}
		// Formatting and parsing again is stable.
		again, err := device.ParsePCRSelection(device.FormatPCRSelection(sel))
		if err != nil || device.FormatPCRSelection(again) != device.FormatPCRSelection(sel) {
			t.Fatalf("%q: round trip %v", s, err)
		}
	})
}

func FuzzPublicKey(f *testing.F) {
	for _, tmpl := range []tpm2.TPMTPublic{tpm2.RSAEKTemplate, tpm2.ECCEKTemplate, tpm2.ECCSRKTemplate} {
		b := tpm2.Marshal(tmpl)
		f.Add(b)
		f.Add(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
	}
	f.Add([]byte{0, 1, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := device.PublicKey(b)
		if err == nil && k == nil {
			t.Fatal("nil key without error")
		}
		if err == nil {
			if _, err := device.PublicPEM(bytes.Clone(b)); err != nil {
				t.Fatalf("PublicKey ok but PublicPEM: %v", err)
			}
		}
	})
}
