package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/plugins"
)

// pluginOptions reads the plugin settings from the environment
// (FORMA_SECRET_KEY, FORMA_PLUGIN_KEYS, FORMA_PLUGIN_ALLOW_UNSIGNED) and
// hands in the built-in connectors. A malformed value stops the start:
// a server that silently trusted no key, or sealed secrets under a key
// other than the one configured, would fail later and less clearly.
func pluginOptions() (plugin.Options, error) {
	opts := plugin.Options{Builtins: plugins.FS(), AllowUnsigned: os.Getenv("FORMA_PLUGIN_ALLOW_UNSIGNED") == "1"}
	if v := os.Getenv(plugin.EnvSecretKey); v != "" {
		k, err := plugin.ParseSecretKey(v)
		if err != nil {
			return opts, fmt.Errorf("%s: %w", plugin.EnvSecretKey, err)
		}
		opts.SecretKey = k
	}
	for i, v := range strings.Split(os.Getenv("FORMA_PLUGIN_KEYS"), ",") {
		if strings.TrimSpace(v) == "" {
			continue
		}
		k, err := plugin.ParsePublicKey(v)
		if err != nil {
			return opts, fmt.Errorf("FORMA_PLUGIN_KEYS, key %d: %w", i+1, err)
		}
		opts.TrustedKeys = append(opts.TrustedKeys, k)
	}
	return opts, nil
}

// pluginCmd is `forma plugin`: install, list, remove, keygen, pack, trust
// (this file) and init, test (plugin_sdk.go).
func pluginCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Install, list, remove, build and test connector plugins"}
	cmd.AddCommand(pluginInstallCmd(), pluginListCmd(), pluginRemoveCmd(), pluginKeygenCmd(), pluginPackCmd(), pluginTrustCmd(),
		pluginInitCmd(), pluginTestCmd())
	return cmd
}

// printRefusal prints what the plugin service refused (with every
// problem of a manifest) and turns it into exit status 1; other errors
// pass through.
func printRefusal(cmd *cobra.Command, what string, err error) error {
	var re *plugin.RefusedError
	if !errors.As(err, &re) {
		return err
	}
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "%s: %s (%s)\n", what, re.Message, re.Code)
	for _, p := range re.Details {
		ptr := p.Path
		if ptr == "" {
			ptr = "/"
		}
		fmt.Fprintf(w, "  %s: %s\n", ptr, p.Message)
	}
	return exitError{1}
}

func pluginInstallCmd() *cobra.Command {
	var (
		db    dbFlags
		allow bool
	)
	cmd := &cobra.Command{
		Use:   "install FILE|DIR",
		Short: "Install or upgrade a plugin from a signed .zip (or, with --allow-unsigned, a folder or unsigned zip)",
		Long: "Install or upgrade a plugin. A .zip must be signed by a trusted key (forma plugin trust, FORMA_PLUGIN_KEYS);\n" +
			"--allow-unsigned installs a folder or an unsigned zip, for development. Upgrading keeps every app's settings and secrets.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pkg, err := plugin.Load(args[0])
			if err != nil {
				return printRefusal(cmd, args[0], err)
			}
			// The one running the command runs the server's storage: the
			// flag is both the server's permission and the request.
			db.allowUnsigned = allow
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				sum, err := eng.Plugins.Install(ctx, pkg, "cli", allow)
				if err != nil {
					return printRefusal(cmd, args[0], err)
				}
				signer := "unsigned"
				if sum.Signer != "" {
					signer = "signed by " + sum.Signer
				}
				fmt.Fprintf(cmd.OutOrStdout(), "installed %s %s (%s, sha256 %s)\n", sum.Name, sum.Version, signer, sum.SHA256)
				return nil
			})
		},
	}
	db.register(cmd)
	cmd.Flags().BoolVar(&allow, "allow-unsigned", false, "install an unsigned package or a folder (development only)")
	return cmd
}

func pluginListCmd() *cobra.Command {
	var (
		db      dbFlags
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the installed plugins and what uses each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				list, err := eng.Plugins.List(ctx)
				if err != nil {
					return err
				}
				if jsonOut {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					return enc.Encode(list)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tVERSION\tSOURCE\tUSED BY")
				for _, p := range list {
					source := "unsigned"
					switch {
					case p.Builtin:
						source = "built-in"
					case p.Signer != "":
						source = "signed by " + p.Signer
					}
					var uses []string
					for _, u := range p.UsedBy {
						if u.Connector != "" {
							uses = append(uses, u.App+"/"+u.Connector)
						} else {
							uses = append(uses, u.App+"/"+u.Automation)
						}
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Name, p.Version, source, strings.Join(uses, ", "))
				}
				return w.Flush()
			})
		},
	}
	db.register(cmd)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func pluginRemoveCmd() *cobra.Command {
	var db dbFlags
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a plugin (refused while an automation or connector uses it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				if err := eng.Plugins.Remove(ctx, args[0], "cli"); err != nil {
					return printRefusal(cmd, args[0], err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
				return nil
			})
		},
	}
	db.register(cmd)
	return cmd
}

func pluginKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a signing key pair: PREFIX.key (keep it secret) and PREFIX.pub (give it to the servers that trust you)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			priv, pub, err := plugin.GenerateKey()
			if err != nil {
				return err
			}
			k, err := plugin.ParsePublicKey(pub)
			if err != nil {
				return err
			}
			// O_EXCL: a key that signed published packages is never
			// overwritten by accident.
			f, err := os.OpenFile(out+".key", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("write the private key: %w", err)
			}
			if _, err := f.WriteString(priv); err != nil {
				f.Close()
				return fmt.Errorf("write the private key: %w", err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("write the private key: %w", err)
			}
			if err := os.WriteFile(out+".pub", []byte(pub), 0o644); err != nil {
				return fmt.Errorf("write the public key: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key id %s\nprivate key: %s.key (keep it secret)\npublic key:  %s.pub (forma plugin trust %s.pub)\n",
				plugin.KeyID(k), out, out, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "forma-plugin", "path prefix of the two files")
	return cmd
}

func pluginPackCmd() *cobra.Command {
	var keyFile, out string
	cmd := &cobra.Command{
		Use:   "pack DIR",
		Short: "Sign a plugin folder into NAME-VERSION.zip and NAME-VERSION.zip.sha256",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return errors.New("--key is required: the private key file forma plugin keygen wrote")
			}
			st, err := os.Stat(args[0])
			if err != nil {
				return err
			}
			if !st.IsDir() {
				return fmt.Errorf("%s is not a folder", args[0])
			}
			text, err := os.ReadFile(keyFile)
			if err != nil {
				return fmt.Errorf("read the key: %w", err)
			}
			key, err := plugin.ParsePrivateKey(string(text))
			if err != nil {
				return err
			}
			pkg, err := plugin.Load(args[0])
			if err != nil {
				return printRefusal(cmd, args[0], err)
			}
			z, err := plugin.Pack(pkg, key)
			if err != nil {
				return err
			}
			if out == "" {
				out = pkg.Manifest.Name + "-" + pkg.Manifest.Version + ".zip"
			}
			if err := os.WriteFile(out, z, 0o644); err != nil {
				return err
			}
			sum := sha256.Sum256(z)
			if err := os.WriteFile(out+".sha256", []byte(hex.EncodeToString(sum[:])+"  "+filepath.Base(out)+"\n"), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "packed %s %s into %s (%d bytes, %d files), signed by %s\n",
				pkg.Manifest.Name, pkg.Manifest.Version, out, len(z), len(pkg.Files), plugin.KeyID(key.Public().(ed25519.PublicKey)))
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "the private key file (forma plugin keygen)")
	cmd.Flags().StringVar(&out, "out", "", "the zip to write (default NAME-VERSION.zip)")
	return cmd
}

func pluginTrustCmd() *cobra.Command {
	var (
		db   dbFlags
		name string
	)
	cmd := &cobra.Command{
		Use:   "trust PUBFILE",
		Short: "Trust packages signed by a public key (forma plugin keygen's .pub)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if name == "" {
				name = strings.TrimSuffix(filepath.Base(args[0]), ".pub")
			}
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				k, err := eng.Plugins.AddKey(ctx, string(text), name, "cli")
				if err != nil {
					return printRefusal(cmd, args[0], err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "trusted key %s (%s)\n", k.ID, k.Name)
				return nil
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&name, "name", "", "a name for the key (default: the file's name)")
	return cmd
}
