// Package checktest holds the assertions tests make about a verification's
// result, so that every package asserts verdicts, checks and classes the same
// way and reads a Verify's (result, error) pair by one contract: a verdict
// other than pass comes with a *cloudra.RejectedError carrying the result,
// and any other error means no decision was made.
//
// A failed assertion names what was wanted and lists every failed check and
// violation of the result, parts included ([Dump]).
package checktest

import (
	"errors"
	"strings"
	"testing"

	"github.com/cloudra/cloudra"
)

// Result returns the result of a Verify, failing the test when no decision
// was made (an error other than a *cloudra.RejectedError) or when the error
// and the verdict disagree: a rejection must carry the returned result and a
// verdict other than pass; no error means pass.
func Result(t testing.TB, res *cloudra.Result, err error) *cloudra.Result {
	t.Helper()
	var rej *cloudra.RejectedError
	switch {
	case err != nil && !errors.As(err, &rej):
		t.Fatalf("no decision: %v", err)
	case res == nil:
		t.Fatalf("nil result (error %v)", err)
	case rej != nil && rej.Result != res:
		t.Fatalf("the rejection carries another result than the one returned: %v", err)
	case rej != nil && res.Verdict == cloudra.Pass:
		t.Fatalf("verdict pass with a rejection: %v", err)
	case rej == nil && res.Verdict != cloudra.Pass:
		t.Fatalf("verdict %q without a *cloudra.RejectedError\n%s", res.Verdict, Dump(res))
	}
	return res
}

// NoDecision returns err unless it is a *cloudra.RejectedError, which is a
// decision; then nil. It reads the error of a stage that records checks on
// a result the caller owns (dcapverify's engine), or of a test that looks
// at the result whatever the verdict.
func NoDecision(err error) error {
	if rej := (*cloudra.RejectedError)(nil); errors.As(err, &rej) {
		return nil
	}
	return err
}

// WantPass fails the test unless the verdict is pass with claims.
func WantPass(t testing.TB, res *cloudra.Result) {
	t.Helper()
	if res.Verdict != cloudra.Pass {
		t.Fatalf("verdict %s, want pass\n%s", res.Verdict, Dump(res))
	}
	if res.Claims == nil {
		t.Fatalf("no claims on a pass\n%s", Dump(res))
	}
}

// WantFail fails the test unless the verdict is fail and name failed with
// class: the first failed check of that name (in res, then its parts) has
// class, or the policy rule of that name was violated with class. An empty
// name asks only for a failure of class somewhere. A signature, chain or
// parse failure must leave no claims.
func WantFail(t testing.TB, res *cloudra.Result, name string, class cloudra.Class) {
	t.Helper()
	if res.Verdict != cloudra.Fail || !res.HasFailure(class) {
		t.Fatalf("verdict %s with classes %v, want fail/%s at %q\n%s", res.Verdict, res.FailureClasses(), class, name, Dump(res))
	}
	if name != "" && !failed(res, name, class) {
		t.Fatalf("no failure %s/%s\n%s", name, class, Dump(res))
	}
	switch class {
	case cloudra.ClassSig, cloudra.ClassChain, cloudra.ClassParse:
		if res.Claims != nil {
			t.Errorf("claims returned with a %s failure", class)
		}
	}
}

// WantClass is WantFail with no name: a failure of class somewhere.
func WantClass(t testing.TB, res *cloudra.Result, class cloudra.Class) {
	t.Helper()
	WantFail(t, res, "", class)
}

// WantOnly fails the test unless the verdict is fail and every failed check
// of res (not its parts) is name with class.
func WantOnly(t testing.TB, res *cloudra.Result, name string, class cloudra.Class) {
	t.Helper()
	if res.Verdict != cloudra.Fail {
		t.Fatalf("verdict %s, want fail at %s", res.Verdict, name)
	}
	found := false
	for _, c := range res.Checks {
		if c.Outcome != cloudra.OutcomeFail {
			continue
		}
		if c.Name != name || c.Class != class {
			t.Errorf("failed %s/%s (%s), want only %s/%s", c.Name, c.Class, c.Detail, name, class)
		}
		found = true
	}
	if !found {
		t.Errorf("%s did not fail\n%s", name, Dump(res))
	}
}

// WantCheck reports an error unless the check name (the first of that name,
// as [cloudra.Result.Check] finds it) has outcome, and class when it failed.
func WantCheck(t testing.TB, res *cloudra.Result, name string, outcome cloudra.Outcome, class cloudra.Class) {
	t.Helper()
	c, ok := res.Check(name)
	if !ok || c.Outcome != outcome || outcome == cloudra.OutcomeFail && c.Class != class {
		t.Errorf("%s: %+v (present %v), want %s %s\n%s", name, c, ok, outcome, class, Dump(res))
	}
}

// Part returns the first part of res verified as platform, failing the test
// when there is none.
func Part(t testing.TB, res *cloudra.Result, platform string) *cloudra.Result {
	t.Helper()
	for _, p := range res.Parts {
		if p.Platform == platform {
			return p
		}
	}
	t.Fatalf("no %s part\n%s", platform, Dump(res))
	return nil
}

// failed reports whether the first failed check named name (depth first)
// has class, or a violation of rule name has class.
func failed(res *cloudra.Result, name string, class cloudra.Class) bool {
	var first *cloudra.Check
	var violated bool
	var walk func(*cloudra.Result)
	walk = func(r *cloudra.Result) {
		for i, c := range r.Checks {
			if first == nil && c.Name == name && c.Outcome == cloudra.OutcomeFail {
				first = &r.Checks[i]
			}
		}
		for _, v := range r.Violations {
			violated = violated || v.Rule == name && v.Class == class
		}
		for _, p := range r.Parts {
			walk(p)
		}
	}
	walk(res)
	return violated || first != nil && first.Class == class
}

// Dump lists the verdict, failed checks and violations of res and its parts,
// one a line.
func Dump(res *cloudra.Result) string {
	var b strings.Builder
	var walk func(r *cloudra.Result, ind string)
	walk = func(r *cloudra.Result, ind string) {
		b.WriteString(ind + r.Platform + " " + string(r.Verdict) + "\n")
		for _, c := range r.Checks {
			if c.Outcome == cloudra.OutcomeFail {
				b.WriteString(ind + "  " + c.Name + " [" + string(c.Class) + "] " + c.Detail + "\n")
			}
		}
		for _, v := range r.Violations {
			b.WriteString(ind + "  violation " + v.Rule + " [" + string(v.Class) + "] want " + v.Want + " got " + v.Got + "\n")
		}
		for _, p := range r.Parts {
			walk(p, ind+"  ")
		}
	}
	if res == nil {
		return "<nil result>\n"
	}
	walk(res, "")
	return b.String()
}

// Count is how many checks of res named name have outcome (a check such
// as eventlog.replay stands once per register).
func Count(res *cloudra.Result, name string, outcome cloudra.Outcome) int {
	n := 0
	for _, c := range res.Checks {
		if c.Name == name && c.Outcome == outcome {
			n++
		}
	}
	return n
}
