package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/formaapp/forma/engine/plugin"
)

// pluginInitCmd is `forma plugin init NAME [--dir DIR]`: a new plugin's
// scaffold (manifest, one action, a passing test, README).
func pluginInitCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "init NAME",
		Short: "Write a new plugin's scaffold: plugin.json, index.js, test/send.json, README.md",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if dir == "" {
				dir = name
			}
			if err := plugin.Init(dir, name); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote plugin %s in %s; run its tests with: forma plugin test %s\n", name, dir, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "folder to write (default: NAME); must not exist or be empty")
	return cmd
}

// pluginTestCmd is `forma plugin test DIR`: runs DIR's test/*.json
// fixtures against a local fake (no network), PASS or FAIL per case, and
// exits 1 when one fails.
func pluginTestCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "test DIR",
		Short: "Run a plugin's test/*.json fixtures in the sandbox against a local fake server (no network)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			results, err := plugin.RunTests(args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			failed := 0
			for _, r := range results {
				if r.Pass {
					fmt.Fprintf(out, "PASS %s (%dms)\n", r.Name, r.Duration.Milliseconds())
					continue
				}
				failed++
				fmt.Fprintf(out, "FAIL %s (%dms): %s\n", r.Name, r.Duration.Milliseconds(), r.Message)
			}
			fmt.Fprintf(out, "%d passed, %d failed\n", len(results)-failed, failed)
			if failed > 0 {
				return exitError{1}
			}
			return nil
		},
	}
}
