package main

import "github.com/spf13/cobra"

// TODO(plugin-run): forma plugin init NAME, forma plugin test DIR.
func pluginInitCmd() *cobra.Command { return &cobra.Command{Use: "init NAME", Hidden: true} }
func pluginTestCmd() *cobra.Command { return &cobra.Command{Use: "test DIR", Hidden: true} }
