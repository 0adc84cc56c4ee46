package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/store"
)

func (a *app) serveCommand() *cobra.Command {
	var databaseURL, listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Apply migrations and serve the firedrill process (health endpoint for now)",
		Long: `Apply pending migrations and start the long-running firedrill process. It serves
GET /healthz (200 when the database answers, 503 otherwise); the API, console and
scheduler land here as they are built.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, databaseURL, true)
			if err != nil {
				return err
			}
			defer st.Close()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen %s: %w", listen, err)
			}
			srv := &http.Server{Handler: healthMux(st), ReadHeaderTimeout: 10 * time.Second}
			fmt.Fprintf(a.stderr, "firedrill serving on http://%s (database %s)\n", ln.Addr(), store.RedactURL(databaseURL))
			a.logger.InfoContext(ctx, "serving", "addr", ln.Addr().String(), "database", store.RedactURL(databaseURL))
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(shutdownCtx); err != nil {
				return err
			}
			if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "address to serve on (env FIREDRILL_LISTEN)")
	return cmd
}

func healthMux(st *store.Store) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := st.SchemaCheck(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"status":"unavailable","database":"unreachable or schema outdated"}`)
			return
		}
		fmt.Fprintf(w, "{\"status\":\"ok\",\"database\":%q}\n", st.Dialect())
	})
	return mux
}
