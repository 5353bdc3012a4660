package dcapverify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/internal/dcaptest"
	"github.com/cloudra/cloudra/platform/dcap"
	"github.com/cloudra/cloudra/platform/dcap/pcs"
)

func TestClassOf(t *testing.T) {
	for err, want := range map[error]cloudra.Class{
		fmt.Errorf("x: %w", dcap.ErrValidity):              cloudra.ClassFresh,
		fmt.Errorf("x: %w", pcs.ErrExpired):                cloudra.ClassFresh,
		fmt.Errorf("x: %w", pcs.ErrNotYetValid):            cloudra.ClassFresh,
		fmt.Errorf("x: %w", dcap.ErrChain):                 cloudra.ClassChain,
		fmt.Errorf("x: %w", pcs.ErrRevoked):                cloudra.ClassChain,
		fmt.Errorf("x: %w", pcs.ErrSignature):              cloudra.ClassSig,
		fmt.Errorf("x: %w", dcap.ErrBinding):               cloudra.ClassBinding,
		&dcap.ParseError{Err: errors.New("x")}:             cloudra.ClassParse,
		&pcs.ParseError{What: "crl", Err: errors.New("x")}: cloudra.ClassParse,
		fmt.Errorf("x: %w", pcs.ErrMismatch):               cloudra.ClassCollateral,
	} {
		if got := classOf(err); got != want {
			t.Errorf("%v: %s, want %s", err, got, want)
		}
	}
}

// The collateral cache interval never contains a validity boundary, and a
// verification exactly at a boundary is not cached.
func TestInterval(t *testing.T) {
	k := dcaptest.New(dcaptest.DefaultConfig())
	col := k.Collateral(true)
	certs, err := dcap.ParsePCKChain(k.ChainPEM())
	if err != nil {
		t.Fatal(err)
	}
	c, err := dcap.VerifyPCKChain(certs, []*x509.Certificate{k.Root}, k.Now)
	if err != nil {
		t.Fatal(err)
	}
	bounds := func(at time.Time) (*pick, []time.Time) {
		p := choose(col, pcs.TDX, c, pcs.ParsePEMChain)
		s := &search{ctx: context.Background(), p: p, root: c.Root, at: at}
		s.tcbInfo(pcs.TDX, c.Ext.FMSPC)
		s.qeIdentity(pcs.TDX)
		return p, s.bounds
	}
	p, b := bounds(k.Now)
	lo, hi := interval(p, c, k.Now, b)
	if !lo.Before(k.Now) || !hi.After(k.Now) {
		t.Fatalf("(%s, %s) does not contain now", lo, hi)
	}
	// The forged TCB Info is valid from now-15d to now+15d; CRLs -10d..+20d.
	if !lo.Equal(k.Now.AddDate(0, 0, -10)) || !hi.Equal(k.Now.AddDate(0, 0, 15)) {
		t.Errorf("interval (%s, %s)", lo, hi)
	}
	at := k.Now.AddDate(0, 0, 15)
	p, b = bounds(at)
	lo, hi = interval(p, c, at, b)
	if lo.Before(at) && at.Before(hi) {
		t.Errorf("boundary instant inside an open interval (%s, %s)", lo, hi)
	}
}
