package cli_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cloudra/cloudra/cmd/cloudra/cli"
	"github.com/cloudra/cloudra/internal/vectortest"
)

// TestScripts runs the end-to-end CLI cases in testdata/script. The command
// tree runs in-process (paths in scripts are absolute: $WORK, $VECTORS);
// `cloudra` records its exit code and `exitcode N` asserts it. Scripts that
// need the shared vectors start with `[!vectors] skip`.
func TestScripts(t *testing.T) {
	vec, haveVectors := vectortest.Find()
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("VECTORS", vec)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "vectors" {
				return haveVectors, nil
			}
			return false, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"cloudra": func(ts *testscript.TestScript, neg bool, args []string) {
				env := &cli.Env{Stdout: ts.Stdout(), Stderr: ts.Stderr(),
					Now: func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }}
				code := cli.RunEnv(context.Background(), env, args)
				ts.Setenv("CLOUDRA_EXIT", strconv.Itoa(code))
				if neg && code == 0 {
					ts.Fatalf("cloudra succeeded unexpectedly")
				}
				if !neg && code != 0 {
					ts.Fatalf("cloudra exited %d", code)
				}
			},
			"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: exitcode N")
				}
				if got := ts.Getenv("CLOUDRA_EXIT"); got != args[0] {
					ts.Fatalf("exit code %s, want %s", got, args[0])
				}
			},
		},
	})
}
