package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/formaapp/forma/engine/bulk"
	"github.com/formaapp/forma/engine/records"
)

// importCmd is `forma import APP ENTITY FILE`: the file's rows written in
// one transaction on path import, with a progress bar (rows, rows/s, time
// left) on stderr. All or nothing unless --skip-bad-rows; the bad rows go
// to FILE.errors.csv with a reason column.
func importCmd() *cobra.Command {
	var (
		db       dbFlags
		mapJSON  string
		upsertBy string
		skipBad  bool
		dryRun   bool
		tz       string
		as       string
		errsPath string
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "import APP ENTITY FILE",
		Short: "Import a CSV or XLSX file into an entity (all or nothing unless --skip-bad-rows)",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o := bulk.ImportOptions{UpsertBy: upsertBy, SkipBadRows: skipBad, DryRun: dryRun, TimeZone: tz}
			if mapJSON != "" {
				dec := json.NewDecoder(strings.NewReader(mapJSON))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&o.Map); err != nil {
					return fmt.Errorf("--map: want a JSON object of header → field: %w", err)
				}
			}
			f, err := os.Open(args[2])
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			eng, err := db.open(ctx)
			if err != nil {
				return err
			}
			defer eng.Close()
			c := records.Caller{Admin: true, Path: records.PathImport}
			if as != "" {
				u, err := eng.Access.UserByEmail(ctx, as)
				if err != nil {
					return fmt.Errorf("--as %s: %w", as, err)
				}
				c = records.Caller{UserID: u.ID, Admin: u.Admin, Roles: u.Roles, TeamID: u.TeamID, Path: records.PathImport}
			}
			total := int64(-1)
			if !strings.HasSuffix(strings.ToLower(args[2]), ".xlsx") {
				total = countLines(f) - 1
			}
			var bar *progressbar.ProgressBar
			if !quiet {
				bar = rowsBar(cmd.ErrOrStderr(), total, "importing") // template.go
			}
			res, err := eng.Bulk.Import(ctx, bulk.Run{Caller: c, App: args[0], Entity: args[1], File: f, Size: st.Size(), Name: args[2], Options: o,
				Progress: func(p bulk.Progress) {
					if bar != nil {
						bar.Set64(int64(p.Processed))
					}
				}})
			if bar != nil {
				bar.Finish()
				fmt.Fprintln(cmd.ErrOrStderr())
			}
			if err != nil {
				var re *records.Error
				if errors.As(err, &re) {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", args[2], re.Message)
					for _, d := range re.Details {
						fmt.Fprintf(cmd.ErrOrStderr(), "  %s: %s\n", d.Path, d.Message)
					}
					return exitError{1}
				}
				return err
			}
			out := cmd.OutOrStdout()
			secs := res.Elapsed.Seconds()
			fmt.Fprintf(out, "%s: %d rows in %.1fs (%.0f rows/s, %s path): %d created, %d updated, %d bad\n",
				res.Status, res.Rows, secs, float64(res.Rows)/max(secs, 1e-9), res.Path, res.Created, res.Updated, res.Bad)
			fmt.Fprintln(out, res.Message)
			for i, e := range res.Errors {
				if i == 20 {
					fmt.Fprintf(out, "  … and %d more\n", res.ErrorCount-20)
					break
				}
				col := ""
				if e.Column != "" {
					col = " " + e.Column
				}
				fmt.Fprintf(out, "  row %d%s: %s\n", e.Row, col, e.Reason)
			}
			if len(res.BadRows) > 0 {
				path := errsPath
				if path == "" {
					path = args[2] + ".errors.csv"
				}
				if err := writeBadRows(path, res); err != nil {
					return err
				}
				fmt.Fprintf(out, "the bad rows, with a reason column: %s\n", path)
			}
			if res.Status == bulk.StatusFailed {
				return exitError{1}
			}
			return nil
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&mapJSON, "map", "", `columns to fields, as JSON: {"Company": "name", "Notes": ""} ("" leaves a column out)`)
	cmd.Flags().StringVar(&upsertBy, "upsert-by", "", "a unique field: a row whose value exists updates that record")
	cmd.Flags().BoolVar(&skipBad, "skip-bad-rows", false, "write the good rows even when some are bad")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check every row, write nothing")
	cmd.Flags().StringVar(&tz, "tz", "", "time zone of datetimes without one (e.g. Asia/Shanghai; default UTC)")
	cmd.Flags().StringVar(&as, "as", "", "import as this user (their rules apply); default: as an administrator")
	cmd.Flags().StringVar(&errsPath, "errors", "", "where to write the bad rows (default FILE.errors.csv)")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress bar")
	return cmd
}

// countLines counts f's line breaks (the rows of a CSV, give or take
// quoted ones: the bar's total), then rewinds it.
func countLines(f *os.File) int64 {
	defer f.Seek(0, io.SeekStart)
	r := bufio.NewReaderSize(f, 1<<20)
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err != nil {
			return n
		}
	}
}

// writeBadRows writes the bad rows as uploaded with a reason column
// (UTF-8 with a BOM, as the API's errors.csv).
func writeBadRows(path string, res *bulk.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	f.WriteString("\ufeff")
	w := csv.NewWriter(f)
	header := []string{}
	if res.Mapping != nil {
		for _, cm := range res.Mapping.Columns {
			header = append(header, cm.Header)
		}
	}
	w.Write(append(header, "reason"))
	last := -1
	for _, b := range res.BadRows {
		if b.Row == last {
			continue
		}
		last = b.Row
		w.Write(append(append([]string{}, b.Cells...), b.Reason))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return f.Close()
}
