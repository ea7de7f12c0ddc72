package main

import (
	"github.com/spf13/cobra"

	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/plugins"
)

// pluginOptions reads the plugin settings from the environment
// (FORMA_SECRET_KEY, FORMA_PLUGIN_KEYS, FORMA_PLUGIN_ALLOW_UNSIGNED) and
// hands in the built-in connectors.
// TODO(plugin-pack): the environment.
func pluginOptions() plugin.Options {
	return plugin.Options{Builtins: plugins.FS()}
}

// pluginCmd is `forma plugin`: install, list, remove, keygen, pack, trust
// (this file, plugin-pack) and init, test (plugin_sdk.go, plugin-run).
func pluginCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Install, list, remove, build and test connector plugins"}
	cmd.AddCommand(pluginInitCmd(), pluginTestCmd())
	return cmd
}
