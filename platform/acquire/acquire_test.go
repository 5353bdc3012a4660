package acquire_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/cloudra/cloudra/platform/acquire"
)

func TestNotAvailable(t *testing.T) {
	base := fmt.Errorf("device: no guest interface: %w", fs.ErrNotExist)
	err := acquire.NotAvailable(base)
	if !errors.Is(err, acquire.ErrNotAvailable) {
		t.Error("NotAvailable(err) is not ErrNotAvailable")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("NotAvailable(err) lost what err wraps")
	}
	if err.Error() != base.Error() {
		t.Errorf("message %q, want %q unchanged", err.Error(), base.Error())
	}
	if wrapped := fmt.Errorf("collect: %w", err); !errors.Is(wrapped, acquire.ErrNotAvailable) {
		t.Error("a wrapped NotAvailable error is not ErrNotAvailable")
	}
	if errors.Is(base, acquire.ErrNotAvailable) {
		t.Error("an unmarked error is ErrNotAvailable")
	}
	if acquire.NotAvailable(nil) != nil {
		t.Error("NotAvailable(nil) != nil")
	}
}
