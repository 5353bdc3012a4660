package seam

import (
	"context"

	"github.com/cloudra/cloudra"
	"github.com/cloudra/cloudra/policy"
)

// ReportDataField names the expected REPORT_DATA of a platform's policy
// section type T, for the helpers below.
type ReportDataField[T any] func(*T) *cloudra.HexBytes

// SetReportData returns p with the section called name (of type T) set to
// expect rd as REPORT_DATA, on a copy of the section: the implementation of
// ReportDataSetter for a platform whose section has a REPORT_DATA rule.
func SetReportData[T any](p *policy.Policy, name string, field ReportDataField[T], rd []byte) *policy.Policy {
	var s T
	if c := policy.Get[T](p, name); c != nil {
		s = *c
	}
	*field(&s) = append(cloudra.HexBytes(nil), rd...)
	return p.With(name, &s)
}

// VerifyReportData is the VerifyRequest of a platform whose evidence binds a
// challenge in its REPORT_DATA (SEV-SNP, TDX, SGX): the request's challenge,
// when there is one, replaces the section's expected REPORT_DATA (on a
// copy); verify runs the platform's typed verification with that section;
// a rejection stays the result; the freshness check says whether an
// expected REPORT_DATA was given and matched (rule "report-data").
func VerifyReportData[T any](ctx context.Context, req *Request, name string, field ReportDataField[T],
	verify func(ctx context.Context, sec *T) (*cloudra.Result, error)) (*cloudra.Result, error) {
	sec := WithReportData(policy.Get[T](req.Policy, name), req.Challenge, field)
	r, err := Decided(verify(ctx, sec))
	if err != nil {
		return nil, err
	}
	NoteFreshness(r, sec != nil && len(*field(sec)) > 0, !r.HasViolation("report-data"), "REPORT_DATA")
	return r, r.Err()
}
