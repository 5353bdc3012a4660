package cloudra

import (
	"errors"
	"strings"
	"testing"
)

// TestResultErr: a pass gives no error; anything else a *RejectedError
// that matches ErrRejected and names every failed check and violation,
// parts included, within a bounded length.
func TestResultErr(t *testing.T) {
	pass := (&Result{Platform: "sev-snp"}).Finish()
	pass.Passf("report.signature", "ok")
	if err := pass.Err(); err != nil {
		t.Fatalf("pass: %v", err)
	}
	part := &Result{Platform: "tpm"}
	part.Failf("quote.nonce", ClassFresh, "extraData %x", []byte{1})
	part.Finish()
	top := &Result{Platform: "sev-snp+tpm", Parts: []*Result{pass, part}}
	top.Violate("vmpl", ClassPolicy, "0", "1")
	top.Finish()
	err := top.Err()
	var rej *RejectedError
	if !errors.As(err, &rej) || rej.Result != top || !errors.Is(err, ErrRejected) {
		t.Fatalf("err %v (%T)", err, err)
	}
	for _, want := range []string{"sev-snp+tpm", "quote.nonce (fresh): extraData 01", "policy vmpl (policy): want 0, got 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if (&Result{}).Err() == nil || (*Result)(nil).Err() == nil {
		t.Error("an unfinished or nil result is not a pass")
	}
	if got := (&RejectedError{}).Error(); got != ErrRejected.Error() {
		t.Errorf("nil result: %q", got)
	}

	many := &Result{}
	for i := 0; i < 100; i++ {
		many.Failf("check", ClassSig, "%s", strings.Repeat("x", 1000))
	}
	msg := many.Finish().Err().Error()
	if len(msg) > (maxRejectedItems+1)*(maxRejectedDetail+32) || !strings.Contains(msg, "and 84 more") {
		t.Errorf("%d bytes: %.200q…", len(msg), msg)
	}
}
