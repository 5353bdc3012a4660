package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/cloudra/cloudra"
)

// printResult renders a result as a readable table (text) or as the
// cloudra.result/v1 document (json).
func printResult(w io.Writer, format formatFlag, r *cloudra.Result) error {
	if format == "json" {
		b, err := json.MarshalIndent(cloudra.Report{Result: r}, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	// One write: the text is built in memory, not line by line on an
	// unbuffered stdout.
	var b bytes.Buffer
	printResultText(&b, r, "")
	_, err := w.Write(b.Bytes())
	return err
}

func verdictWord(v cloudra.Verdict) string {
	if v == cloudra.Pass {
		return "PASS"
	}
	return "FAIL"
}

func printResultText(w io.Writer, r *cloudra.Result, indent string) {
	head := fmt.Sprintf("%s%s  %s", indent, verdictWord(r.Verdict), r.Platform)
	if r.Cloud != "" {
		head += " on " + r.Cloud
	}
	if r.Signer != "" {
		head += "  (signed by " + r.Signer + ")"
	}
	fmt.Fprintln(w, head)
	if c := r.Claimed; c != nil && (c.Platform != r.Platform || c.Cloud != r.Cloud) {
		fmt.Fprintf(w, "%s  (the bundle claims platform %q, cloud %q: not verified)\n", indent, c.Platform, c.Cloud)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range r.Checks {
		out := string(c.Outcome)
		if c.Outcome == cloudra.OutcomeFail && c.Class != "" {
			out += "/" + string(c.Class)
		}
		fmt.Fprintf(tw, "%s  %s\t%s\t%s\n", indent, c.Name, out, oneLine(c.Detail))
	}
	tw.Flush()
	if len(r.Violations) > 0 {
		fmt.Fprintf(w, "%spolicy violations:\n", indent)
		for _, v := range r.Violations {
			line := fmt.Sprintf("%s  %s", indent, v.Rule)
			if v.Want != "" || v.Got != "" {
				line += fmt.Sprintf(": want %s, got %s", v.Want, v.Got)
			}
			fmt.Fprintln(w, line)
		}
	}
	for _, x := range r.Warnings {
		fmt.Fprintf(w, "%swarning: %s\n", indent, x)
	}
	if r.TCB != nil && (r.TCB.Status != "" || len(r.TCB.Components) > 0) {
		line := indent + "tcb:"
		if r.TCB.Status != "" {
			line += " " + r.TCB.Status
		}
		keys := make([]string, 0, len(r.TCB.Components))
		for k := range r.TCB.Components {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			line += fmt.Sprintf(" %s=%d", k, r.TCB.Components[k])
		}
		if len(r.TCB.Advisories) > 0 {
			line += " advisories=" + strings.Join(r.TCB.Advisories, ",")
		}
		if r.TCB.Date != "" {
			line += " date=" + r.TCB.Date
		}
		fmt.Fprintln(w, line)
	}
	if r.Claims != nil {
		fmt.Fprintf(w, "%sclaims:\n", indent)
		printClaims(w, r.Claims.Claims(), indent+"  ")
	}
	for _, p := range r.Parts {
		fmt.Fprintln(w)
		printResultText(w, p, indent+"  ")
	}
}

func printClaims(w io.Writer, claims []cloudra.Claim, indent string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range claims {
		fmt.Fprintf(tw, "%s%s\t%s\n", indent, c.Name, claimText(c.Value))
	}
	tw.Flush()
}

func claimText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case fmt.Stringer:
		return x.String()
	case nil:
		return "-"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func oneLine(s string) string {
	return strings.ReplaceAll(s, "\n", " ")
}
