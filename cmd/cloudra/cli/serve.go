package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudra/cloudra/collateral"
	"github.com/cloudra/cloudra/server"
)

type serveFlags struct {
	listen         string
	policyFile     string
	collateralDirs []string
	offline        bool
	cacheDir       string
	allowTestRoots bool
	format         formatFlag
}

func newServeCmd(env *Env) *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run the verification service (POST /v1/nonce, POST /v1/verify)",
		Long: `Run cloudra as an HTTP verification service.

  POST /v1/nonce   a single-use challenge: {"nonce": hex, "expires": RFC 3339}
  POST /v1/verify  an evidence bundle carrying that nonce → cloudra.result/v1
  GET  /healthz    "ok"

The policy is loaded once at start; no endpoint changes it. The service speaks
plain HTTP: listen on loopback, or put a TLS-terminating proxy in front.
It stops gracefully on SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), env, &f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8443", "address to listen on")
	fl.StringVar(&f.policyFile, "policy", "", "policy file (YAML or JSON); default: the built-in default policy")
	fl.StringArrayVar(&f.collateralDirs, "collateral", nil, "folder of certificates, CRLs and PCS JSON to use (repeatable)")
	fl.BoolVar(&f.offline, "offline", false, "never use the network; missing collateral answers 422")
	fl.StringVar(&f.cacheDir, "cache-dir", defaultCacheDir(), "collateral cache folder")
	fl.BoolVar(&f.allowTestRoots, "allow-test-roots", false, "also trust cloudra's simulator roots (never in production)")
	addFormatFlag(c, &f.format)
	return c
}

func runServe(ctx context.Context, env *Env, f *serveFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	pol, err := loadPolicy(f.policyFile)
	if err != nil {
		return err
	}
	col, err := loadCollateral(env, nil, f.collateralDirs, false)
	if err != nil {
		return err
	}
	vs, err := newVerifiers(f.allowTestRoots)
	if err != nil {
		return undecided(err, "")
	}
	var fetcher collateral.Fetcher
	switch {
	case !f.offline:
		fetcher = newFetcher(env, f.cacheDir, false)
	case f.cacheDir != "":
		// Offline still serves what an earlier online run cached; it
		// never dials.
		if c, err := collateral.NewCache(f.cacheDir, collateral.CacheOptions{TTLFor: collateral.SuggestedTTL}); err == nil {
			fetcher = collateral.Offline(c)
		}
	}
	srv, err := server.New(server.Config{Verifiers: vs, Policy: pol, Collateral: col, Fetcher: fetcher,
		Now: env.Now, AllowTestRoots: f.allowTestRoots})
	if err != nil {
		return undecided(err, "")
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return undecided(err, "choose another --listen address")
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	addr := ln.Addr().String()
	if f.format == "json" {
		b, _ := json.Marshal(struct {
			Listen         string `json:"listen"`
			URL            string `json:"url"`
			Offline        bool   `json:"offline"`
			AllowTestRoots bool   `json:"allow_test_roots"`
		}{addr, "http://" + addr, f.offline, f.allowTestRoots})
		fmt.Fprintf(env.Stdout, "%s\n", b)
	} else {
		fmt.Fprintf(env.Stdout, "cloudra: serving on http://%s\n", addr)
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return undecided(err, "")
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return undecided(fmt.Errorf("shutdown: %w", err), "")
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return undecided(err, "")
	}
	return nil
}
