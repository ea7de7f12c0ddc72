package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/bulk"
	"github.com/formaapp/forma/engine/records"
)

// exportCmd is `forma export APP ENTITY`: an entity's records as CSV or
// XLSX, through the same list and rules as GET …/{entity}/export.
func exportCmd() *cobra.Command {
	var (
		db                               dbFlags
		format, filter, sort, fields, tz string
		out, as, lang                    string
		labels                           bool
	)
	cmd := &cobra.Command{
		Use:   "export APP ENTITY",
		Short: "Export an entity's records as CSV or XLSX",
		Long: "Export writes the records of ENTITY (those --filter selects, in --sort order) as CSV (UTF-8 with a BOM,\n" +
			"which Excel needs for Chinese) or XLSX, to -o FILE or standard output. It reads as an administrator,\n" +
			"or under the rules of the user --as names (hidden fields are then no columns).",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := bulk.ExportOptions{Format: format, Filter: filter, Sort: sort, Fields: fields, Labels: labels, Lang: "en"}
			if format == "" && strings.EqualFold(filepath.Ext(out), ".xlsx") {
				o.Format = "xlsx"
			}
			if strings.HasPrefix(strings.ToLower(cmp.Or(lang, os.Getenv("LANG"))), "zh") {
				o.Lang = "zh-CN"
			}
			if tz != "" {
				loc, err := time.LoadLocation(tz)
				if err != nil {
					return fmt.Errorf("--tz: %q is not a time zone (Asia/Shanghai, UTC, …)", tz)
				}
				o.TimeZone = loc
			}
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				c := records.Caller{UserID: "system", Admin: true, Path: records.PathSystem}
				if as != "" {
					u, err := eng.Access.UserByEmail(ctx, as)
					if err != nil {
						return fmt.Errorf("--as %s: %w", as, err)
					}
					c = records.Caller{UserID: u.ID, Admin: u.Admin, Roles: u.Roles, TeamID: u.TeamID}
				}
				x, err := eng.Bulk.Export(ctx, c, args[0], args[1], o)
				if err != nil {
					return err
				}
				if out == "" || out == "-" {
					_, err := x.WriteTo(cmd.OutOrStdout())
					return err
				}
				// A file appears whole or not at all.
				tmp, err := os.CreateTemp(filepath.Dir(out), ".forma-export-*")
				if err != nil {
					return err
				}
				defer os.Remove(tmp.Name())
				n, err := x.WriteTo(tmp)
				if cerr := tmp.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
				if err := os.Rename(tmp.Name(), out); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "exported %s/%s to %s (%d bytes)\n", args[0], args[1], out, n)
				return nil
			})
		},
	}
	db.register(cmd)
	f := cmd.Flags()
	f.StringVar(&format, "format", "", "csv or xlsx (default: by -o's extension, else csv)")
	f.StringVar(&filter, "filter", "", `records to export, in the filter language (stage = "won" && amount > 1000)`)
	f.StringVar(&sort, "sort", "", "order, as the list API takes it (-amount,title)")
	f.StringVar(&fields, "fields", "", "columns, in order (title,amount); default every field")
	f.BoolVar(&labels, "labels", false, "labels instead of names and values (headers, options, yes/no, refs by name)")
	f.StringVar(&lang, "lang", "", "language of labels: en or zh-CN (default from $LANG)")
	f.StringVar(&tz, "tz", "", "time zone of datetimes (default UTC)")
	f.StringVarP(&out, "output", "o", "", "file to write (default standard output)")
	f.StringVar(&as, "as", "", "export under this user's rules (email)")
	return cmd
}
