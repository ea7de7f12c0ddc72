// Command forma is the one Forma binary: it serves the API and manages apps
// and users from the command line. It only parses flags and calls the engine.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// exitError carries an exit status without printing cobra's usage.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func main() {
	root := newRoot(os.Stdout, os.Stderr)
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "forma:", err)
		os.Exit(2)
	}
}

// dbFlags are the storage flags shared by every command that opens the database.
type dbFlags struct {
	data  string
	db    string
	files string       // serve's --files; other commands read $FORMA_FILES
	jobs  jobs.Options // serve sets the workers' flags
	// allowUnsigned lets this process install unsigned plugins (forma
	// plugin install --allow-unsigned), beside FORMA_PLUGIN_ALLOW_UNSIGNED.
	allowUnsigned bool
}

func (f *dbFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.data, "data", "./forma_data", "folder of the embedded SQLite database (and of uploads, unless --files says otherwise)")
	cmd.Flags().StringVar(&f.db, "db", os.Getenv("FORMA_DB"), "PostgreSQL URL (postgres://…); default $FORMA_DB, else embedded SQLite")
}

func (f *dbFlags) open(ctx context.Context) (*engine.Engine, error) {
	opts := f.jobs
	// The probe job kind is for crash and load tests only (engine/jobs/probe.go).
	opts.Probe = os.Getenv("FORMA_JOBS_PROBE") == "1"
	plugs, err := pluginOptions()
	if err != nil {
		return nil, err
	}
	plugs.AllowUnsigned = plugs.AllowUnsigned || f.allowUnsigned
	return engine.Open(ctx, engine.Config{DataDir: f.data, DBURL: f.db, FilesURL: cmp.Or(f.files, os.Getenv("FORMA_FILES")), Jobs: opts, MetricsToken: os.Getenv("FORMA_METRICS_TOKEN"),
		Plugins: plugs, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))})
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "forma",
		Short:         "Forma turns JSON app documents into live tables and a REST API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serveCmd(), appCmd(), adminCmd(), exportCmd(), importCmd(), pluginCmd(), templateCmd())
	return root
}

func serveCmd() *cobra.Command {
	var (
		db   dbFlags
		addr string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the REST API (first start creates the database)",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			eng, err := db.open(ctx)
			if err != nil {
				return err
			}
			defer eng.Close()
			if err := eng.Files.Ready(ctx); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			setup, err := eng.Access.Bootstrap(ctx, os.Getenv("FORMA_ADMIN_EMAIL"), os.Getenv("FORMA_ADMIN_PASSWORD"))
			if err != nil {
				return err
			}
			url := "http://" + addr
			if strings.HasPrefix(addr, ":") {
				url = "http://127.0.0.1" + addr
			}
			where := "SQLite in " + db.data
			if db.db != "" {
				where = "PostgreSQL"
			}
			fmt.Fprintf(out, "Forma is listening on %s (data: %s)\n", url, where)
			fmt.Fprintf(out, "Open %s/ in a browser for the web UI; the REST API is under %s/api/\n", url, url)
			switch {
			case setup != "":
				// The one-time token goes to the operator's terminal, not to
				// the log: it is shown once and expires in 24 hours.
				fmt.Fprintf(out, "\nNo users yet. Create the first admin (one-time setup token, valid 24h) in a browser:\n\n")
				fmt.Fprintf(out, "  %s/#/setup/%s\n\nor with curl:\n\n", url, setup)
				fmt.Fprintf(out, "  curl -X POST %s/api/auth/setup -H 'Content-Type: application/json' \\\n", url)
				fmt.Fprintf(out, "    -d '{\"token\": \"%s\", \"email\": \"you@example.com\", \"password\": \"choose-a-password\"}'\n\n", setup)
				fmt.Fprintf(out, "or restart with FORMA_ADMIN_EMAIL and FORMA_ADMIN_PASSWORD set, or run `forma admin create`.\n")
			case os.Getenv("FORMA_ADMIN_EMAIL") != "":
				fmt.Fprintf(out, "Log in as %s (in the web UI, or POST %s/api/auth/login {\"email\", \"password\"})\n", os.Getenv("FORMA_ADMIN_EMAIL"), url)
			default:
				fmt.Fprintf(out, "Log in with your admin account (in the web UI, or POST %s/api/auth/login {\"email\", \"password\"})\n", url)
			}
			fmt.Fprintf(out, "Start from a complete app: pick a template in the web UI's gallery (%s/), or run `forma template install pipeline --sample 1000` (`forma template list` shows them all)\n", url)
			if err := eng.Start(ctx); err != nil {
				return err
			}
			app := eng.Handler()
			errc := make(chan error, 1)
			go func() { errc <- app.Listen(addr) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
				return app.ShutdownWithTimeout(10 * time.Second)
			}
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8090", "address to listen on")
	cmd.Flags().StringVar(&db.files, "files", os.Getenv("FORMA_FILES"), "where uploads are kept: file:///path, or s3://bucket?region=…&endpoint=https://… for an S3-compatible bucket shared by several servers (credentials from the usual AWS_* variables); default $FORMA_FILES, else the folder files in --data")
	cmd.Flags().IntVar(&db.jobs.Workers, "jobs-workers", 0, "jobs this process runs at once (default 50 on PostgreSQL, 2 on SQLite, whose one writer at a time makes more no faster)")
	cmd.Flags().DurationVar(&db.jobs.RescueAfter, "jobs-rescue-after", time.Hour, "how long a job may run before it counts as lost (its process died) and runs again elsewhere")
	cmd.Flags().DurationVar(&db.jobs.PollInterval, "jobs-poll", 0, "how often workers look for due jobs unprompted (default 200ms; on PostgreSQL LISTEN/NOTIFY wakes them sooner for most inserts)")
	return cmd
}

func appCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Validate, plan and apply app documents"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check an app document; print every problem and exit 1 if there are any",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := readApp(cmd, args[0])
			if err != nil {
				return err
			}
			// Scripts, formulas and rules compile without a database.
			if _, problems := logic.Compile(app); len(problems) > 0 {
				printProblems(cmd, args[0], problems)
				return exitError{1}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "ok:", args[0])
			return nil
		},
	})
	for _, dry := range []bool{true, false} {
		var (
			db    dbFlags
			allow bool
		)
		c := &cobra.Command{
			Use:   "apply FILE",
			Short: "Migrate the database to an app document (in one transaction)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				eng, err := db.open(cmd.Context())
				if err != nil {
					return err
				}
				defer eng.Close()
				app, err := readAppFor(cmd, args[0], eng.DB)
				if err != nil {
					return err
				}
				if problems := eng.Check(cmd.Context(), app); len(problems) > 0 {
					printProblems(cmd, args[0], problems)
					return exitError{1}
				}
				if !dry {
					// On stderr, so a long migration shows it has begun (and
					// the crash test knows when to kill it).
					fmt.Fprintf(cmd.ErrOrStderr(), "migrating %s…\n", app.Name)
				}
				plan, n, err := eng.Records.Apply(cmd.Context(), app, store.ApplyOptions{DryRun: dry, AllowDestructive: allow, AppliedBy: "cli"})
				printPlan(cmd.OutOrStdout(), plan)
				if n > 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "computed formulas and rollups of %d records\n", n)
				}
				if printMigrationError(cmd, args[0], err) {
					return exitError{1}
				}
				var refused *store.RefusedError
				if errors.As(err, &refused) || (err == nil && dry && len(plan.Refused) > 0) {
					return exitError{1}
				}
				return err
			},
		}
		if dry {
			c.Use, c.Short = "plan FILE", "Show the migration an app document needs, changing nothing"
		}
		db.register(c)
		c.Flags().BoolVar(&allow, "allow-destructive", false, "let drops and lossy conversions through (their data is archived)")
		cmd.AddCommand(c)
	}
	cmd.AddCommand(appExportCmd()) // template.go
	return cmd
}

// readApp reads and checks an app document, printing its problems.
func readApp(cmd *cobra.Command, path string) (*schema.App, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	app, problems := schema.Parse(doc)
	if len(problems) > 0 {
		printProblems(cmd, path, problems)
		return nil, exitError{1}
	}
	return app, nil
}

// readAppFor reads an app document to plan or apply on db. Names the
// document leaves out are derived from labels as the API derives them
// (schema.ParseWith): an entity or field that matches the published app by
// id keeps its published name, so changing a label after the first publish
// renames nothing and keeps the data. The app's own name is derived from
// its label without numbering, so applying the same file again updates the
// same app.
func readAppFor(cmd *cobra.Command, path string, db *store.DB) (*schema.App, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	app, problems := schema.Parse(doc)
	if len(problems) == 0 {
		prev, err := db.Document(cmd.Context(), app.Name, 0)
		switch {
		case err == nil:
			app, problems = schema.ParseWith(doc, schema.DeriveOptions{Previous: prev})
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("read the published app %s: %w", app.Name, err)
		}
	}
	if len(problems) > 0 {
		printProblems(cmd, path, problems)
		return nil, exitError{1}
	}
	return app, nil
}

func printProblems(cmd *cobra.Command, path string, problems schema.Problems) {
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "%s: %d problem(s)\n", path, len(problems))
	for _, p := range problems {
		ptr := p.Path
		if ptr == "" {
			ptr = "/"
		}
		fmt.Fprintf(w, "  %s: %s\n", ptr, p.Message)
	}
}

// printMigrationError shows where a migration that failed while running
// went wrong, the formula (as a JSON pointer) and the record, and reports
// whether err was such a failure.
func printMigrationError(cmd *cobra.Command, path string, err error) bool {
	var re *records.Error
	if !errors.As(err, &re) || re.Code != records.CodeMigrationFailed {
		return false
	}
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "%s: %s\n", path, re.Message)
	for _, d := range re.Details {
		fmt.Fprintf(w, "  %s: %s\n", d.Path, d.Message)
	}
	return true
}

func printPlan(w io.Writer, p *store.Plan) {
	if p == nil {
		return
	}
	fmt.Fprintf(w, "app %s: version %d → %d\n", p.App, p.FromVersion, p.ToVersion)
	if len(p.Steps) == 0 {
		fmt.Fprintln(w, "  no schema changes")
	}
	for _, s := range p.Steps {
		mark := " "
		if s.Destructive {
			mark = "!"
		}
		fmt.Fprintf(w, " %s %s\n", mark, s.Description)
	}
	for _, r := range p.Refused {
		fmt.Fprintf(w, "  refused %s: %s\n", r.Path, r.Message)
	}
}

func adminCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Manage administrators, users and teams"}
	var (
		db                        dbFlags
		email, password, name     string
		passwordStdin, jsonOutput bool
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an administrator",
		RunE: func(cmd *cobra.Command, args []string) error {
			if passwordStdin {
				p, err := readPassword(cmd)
				if err != nil {
					return err
				}
				password = p
			}
			if email == "" || password == "" {
				return fmt.Errorf("--email and --password (or --password-stdin) are required")
			}
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				u, err := eng.Access.CreateUser(ctx, email, password, name, true)
				if err != nil {
					return err
				}
				if jsonOutput {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(u)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created admin %s (%s)\n", u.Email, u.ID)
				return nil
			})
		},
	}
	db.register(create)
	create.Flags().StringVar(&email, "email", "", "email address (the login)")
	create.Flags().StringVar(&password, "password", "", "password (at least 8 characters)")
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().BoolVar(&jsonOutput, "json", false, "print the user as JSON")
	cmd.AddCommand(create, userCmd(), teamCmd())
	return cmd
}
