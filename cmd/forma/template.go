package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/sample"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/template"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

func templateCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "template", Short: "List and install app templates (a complete app, with sample data if you like)"}
	cmd.AddCommand(templateListCmd(), templateInstallCmd())
	return cmd
}

// templateFS is the templates in dir, or the built-in ones.
func templateFS(dir string) fs.FS {
	if dir == "" {
		return templates.FS()
	}
	return os.DirFS(dir)
}

// templateTarget is eng as the installer sees it.
func templateTarget(eng *engine.Engine) template.Target {
	return template.Target{DB: eng.DB, Records: eng.Records, Access: eng.Access, Catalog: eng.Catalog, Check: eng.Check, AppliedBy: "cli"}
}

func templateListCmd() *cobra.Command {
	var (
		db  dbFlags
		dir string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the templates, and whether their app is installed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ls, err := template.List(templateFS(dir))
			if err != nil {
				return err
			}
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				apps, err := eng.DB.Apps(ctx)
				if err != nil {
					return err
				}
				have := map[string]bool{}
				for _, a := range apps {
					have[a.Name] = true
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tAPP\tLABEL (zh-CN)\tLABEL (en)\tINSTALLED")
				for _, l := range ls {
					inst := "no"
					if have[l.App] {
						inst = "yes"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", l.Name, l.App, l.Labels["zh-CN"], l.Labels["en"], inst)
				}
				return w.Flush()
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&dir, "dir", "", "a folder of template folders to list instead of the built-in ones")
	return cmd
}

func templateInstallCmd() *cobra.Command {
	var (
		db    dbFlags
		dir   string
		o     template.InstallOptions
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "install NAME",
		Short: "Install a template as an app, with --sample N rows of sample data",
		Long: `Install a template as an app in one step: its entities, forms, roles, flows,
automations, assignment rules and dashboards, checked as "forma app apply"
checks a document, then (with --sample) sample rows, users and teams.

An app of the same name is left alone unless --upgrade is given: then the
template is applied over it through the migration plan, keeping its data, and
a step that would lose data is refused (nothing changes). --app installs the
template under another name, beside an installed one.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var bar *progressbar.ProgressBar
			o.Progress = func(done, total int) {
				if quiet {
					return
				}
				if bar == nil {
					bar = rowsBar(cmd.ErrOrStderr(), int64(total), "sample data")
				}
				bar.Set(done)
			}
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				if !quiet {
					fmt.Fprintf(cmd.ErrOrStderr(), "installing template %s…\n", args[0])
				}
				res, err := template.Install(ctx, templateTarget(eng), templateFS(dir), args[0], o)
				if bar != nil {
					bar.Finish()
					fmt.Fprintln(cmd.ErrOrStderr())
				}
				if res != nil {
					printInstalled(cmd, args[0], res)
				}
				return installError(cmd, args[0], err)
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&o.App, "app", "", "the app's name (default: the template's)")
	cmd.Flags().BoolVar(&o.Upgrade, "upgrade", false, "go over an installed app of that name, keeping its data (steps that would lose data are refused)")
	cmd.Flags().IntVar(&o.Sample, "sample", 0, fmt.Sprintf("sample rows to write, %d to %d (the others scale by the template's recipe)", template.MinSample, template.MaxSample))
	cmd.Flags().Int64Var(&o.Seed, "seed", 1, "the sample data's seed: the same seed writes the same data")
	cmd.Flags().StringVar(&dir, "dir", "", "a folder of template folders (e.g. one `forma app export --template` wrote) to install from instead of the built-in ones")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress on stderr")
	return cmd
}

// rowsBar is a progress bar of rows written (total -1: unknown) on w.
func rowsBar(w io.Writer, total int64, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionFullWidth(),
	)
}

// printInstalled shows what an install did.
func printInstalled(cmd *cobra.Command, name string, res *template.Installed) {
	w := cmd.OutOrStdout()
	printPlan(w, res.Plan)
	fmt.Fprintf(w, "installed template %s as app %s (version %d)\n", name, res.App, res.Version)
	if len(res.Sample) == 0 {
		return
	}
	ents := make([]string, 0, len(res.Sample))
	for e := range res.Sample {
		ents = append(ents, e)
	}
	sort.Strings(ents)
	fmt.Fprintf(w, "sample data: %d users\n", res.Users)
	for _, e := range ents {
		fmt.Fprintf(w, "  %-24s %d rows\n", e, res.Sample[e])
	}
}

// installError explains a failed install on stderr and gives its exit
// status: 1 for a refusal (nothing changed) or a failure the user can act
// on.
func installError(cmd *cobra.Command, name string, err error) error {
	if err == nil {
		return nil
	}
	w := cmd.ErrOrStderr()
	var (
		problems schema.Problems
		refused  *store.RefusedError
		sampleE  *template.SampleError
	)
	switch {
	case errors.Is(err, template.ErrNotFound):
		fmt.Fprintf(w, "no template %q; `forma template list` lists them\n", name)
	case errors.Is(err, template.ErrAppExists):
		fmt.Fprintf(w, "%v; nothing was changed (--upgrade goes over it keeping its data, --app NAME installs beside it)\n", err)
	case errors.Is(err, template.ErrOption), errors.Is(err, sample.ErrNoRecipe), errors.Is(err, template.ErrRecipe):
		fmt.Fprintln(w, err)
	case errors.As(err, &problems):
		printProblems(cmd, "template "+name, problems)
	case errors.As(err, &refused):
		printPlan(cmd.OutOrStdout(), refused.Plan)
		fmt.Fprintln(w, "the upgrade would lose data; nothing was changed (`forma app plan` with the exported template shows the steps, `forma app apply --allow-destructive` archives the data and goes ahead)")
	case errors.Is(err, store.ErrStale):
		fmt.Fprintf(w, "the app changed while the upgrade was prepared; nothing was changed, run it again\n")
	case printMigrationError(cmd, "template "+name, err):
	case errors.As(err, &sampleE):
		fmt.Fprintln(w, err)
	default:
		return err
	}
	return exitError{1}
}

func appExportCmd() *cobra.Command {
	var (
		db  dbFlags
		dir string
	)
	cmd := &cobra.Command{
		Use:   "export APP --template DIR",
		Short: "Write an installed app as a template folder (install it elsewhere with `forma template install --dir`)",
		Long: `Write an installed app, with every change made to it, as a template folder:
template.json, app/*.json (the document split into readable parts) and
scripts/*.js. Over an existing template folder, its app/*.json and
scripts/*.js are replaced and its other files (README.md, sample.json, the
picture, template.json's labels) are kept.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return fmt.Errorf("--template DIR is required")
			}
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				app, err := eng.DB.Document(ctx, args[0], 0)
				if errors.Is(err, store.ErrNotFound) {
					fmt.Fprintf(cmd.ErrOrStderr(), "no app %q\n", args[0])
					return exitError{1}
				}
				if err != nil {
					return err
				}
				info, doc, err := template.Export(app)
				if err != nil {
					return err
				}
				if _, err := os.Stat(filepath.Join(dir, "template.json")); err == nil {
					// Re-exporting into a template's folder keeps how the
					// template presents itself.
					old, err := template.Read(os.DirFS(dir), ".")
					if err != nil {
						return err
					}
					old.App = app.Name
					info = *old
				}
				if err := template.Write(dir, info, doc); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote app %s (version %d) as template %s to %s\n", app.Name, app.Version, info.Name, dir)
				return nil
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&dir, "template", "", "the template folder to write")
	return cmd
}
