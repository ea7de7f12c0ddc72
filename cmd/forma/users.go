package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/access"
)

// userCmd is `forma admin user …`: create, list, deactivate and reset the
// password of users.
func userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users"}
	cmd.AddCommand(userCreateCmd(), userListCmd(), userDeactivateCmd(), userResetCmd())
	return cmd
}

// teamCmd is `forma admin team …`: create and list teams, and set a
// team's manager.
func teamCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "team", Short: "Manage teams"}
	var (
		db                    dbFlags
		name, parent, manager string
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a team",
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return fmt.Errorf("--name is required")
			}
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				parentID := ""
				if parent != "" {
					p, err := eng.Access.TeamByName(ctx, parent)
					if err != nil {
						return fmt.Errorf("team %q: %w", parent, err)
					}
					parentID = p.ID
				}
				managerID, err := userIDByEmail(ctx, eng, manager)
				if err != nil {
					return err
				}
				t, err := eng.Access.CreateTeamWith(ctx, access.NewTeam{Name: name, ParentID: parentID, ManagerID: managerID})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "created team %s (%s)\n", t.Name, t.ID)
				return nil
			})
		},
	}
	db.register(create)
	create.Flags().StringVar(&name, "name", "", "team name")
	create.Flags().StringVar(&parent, "parent", "", "name of the parent team")
	create.Flags().StringVar(&manager, "manager", "", "email of the team's manager (an active user)")

	var (
		sdb             dbFlags
		sName, sManager string
		none            bool
	)
	setManager := &cobra.Command{
		Use:   "set-manager",
		Short: "Set (--manager EMAIL) or clear (--none) a team's manager",
		RunE: func(cmd *cobra.Command, args []string) error {
			if sName == "" || (sManager == "") == !none {
				return fmt.Errorf("give --name and one of --manager or --none")
			}
			return withEngine(cmd, &sdb, func(ctx context.Context, eng *engine.Engine) error {
				t, err := eng.Access.TeamByName(ctx, sName)
				if err != nil {
					return fmt.Errorf("team %q: %w", sName, err)
				}
				id, err := userIDByEmail(ctx, eng, sManager)
				if err != nil {
					return err
				}
				if _, err := eng.Access.UpdateTeam(ctx, t.ID, access.TeamUpdate{ManagerID: &id}); err != nil {
					return err
				}
				if id == "" {
					fmt.Fprintf(cmd.OutOrStdout(), "team %s has no manager\n", t.Name)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "team %s is managed by %s\n", t.Name, strings.ToLower(strings.TrimSpace(sManager)))
				}
				return nil
			})
		},
	}
	sdb.register(setManager)
	setManager.Flags().StringVar(&sName, "name", "", "team name")
	setManager.Flags().StringVar(&sManager, "manager", "", "email of the new manager (an active user)")
	setManager.Flags().BoolVar(&none, "none", false, "leave the team without a manager")

	var ldb dbFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "List teams",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, &ldb, func(ctx context.Context, eng *engine.Engine) error {
				ts, err := eng.Access.Teams(ctx)
				if err != nil {
					return err
				}
				names := map[string]string{}
				for _, t := range ts {
					names[t.ID] = t.Name
				}
				us, err := eng.Access.Users(ctx)
				if err != nil {
					return err
				}
				emails := map[string]string{}
				for _, u := range us {
					emails[u.ID] = u.Email
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "NAME\tPARENT\tMANAGER\tID")
				for _, t := range ts {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Name, names[t.ParentID], emails[t.ManagerID], t.ID)
				}
				return w.Flush()
			})
		},
	}
	ldb.register(list)
	cmd.AddCommand(create, setManager, list)
	return cmd
}

// userIDByEmail is the id of the user with that email, "" for "".
func userIDByEmail(ctx context.Context, eng *engine.Engine, email string) (string, error) {
	if email == "" {
		return "", nil
	}
	u, err := eng.Access.UserByEmail(ctx, email)
	if err != nil {
		return "", fmt.Errorf("manager %q: %w", email, err)
	}
	return u.ID, nil
}

func withEngine(cmd *cobra.Command, db *dbFlags, fn func(context.Context, *engine.Engine) error) error {
	eng, err := db.open(cmd.Context())
	if err != nil {
		return err
	}
	defer eng.Close()
	return fn(cmd.Context(), eng)
}

// withUser runs fn on the user named by --email.
func withUser(cmd *cobra.Command, db *dbFlags, email string, fn func(context.Context, *engine.Engine, *access.User) error) error {
	if email == "" {
		return fmt.Errorf("--email is required")
	}
	return withEngine(cmd, db, func(ctx context.Context, eng *engine.Engine) error {
		u, err := eng.Access.UserByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("user %s: %w", email, err)
		}
		return fn(ctx, eng, u)
	})
}

func readPassword(cmd *cobra.Command) (string, error) {
	b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func userCreateCmd() *cobra.Command {
	var (
		db                                  dbFlags
		email, name, roles, team            string
		passwordStdin, admin, jsonOut, invt bool
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a user (--password-stdin), or invite one (--invite: prints a reset token)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if email == "" || passwordStdin == invt {
				return fmt.Errorf("--email and one of --password-stdin or --invite are required")
			}
			var password string
			if passwordStdin {
				p, err := readPassword(cmd)
				if err != nil {
					return err
				}
				password = p
			}
			var roleList []string
			for _, r := range strings.Split(roles, ",") {
				if r = strings.TrimSpace(r); r != "" {
					roleList = append(roleList, r)
				}
			}
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				teamID := ""
				if team != "" {
					t, err := eng.Access.TeamByName(ctx, team)
					if err != nil {
						return fmt.Errorf("team %q: %w", team, err)
					}
					teamID = t.ID
				}
				in := access.NewUser{Email: email, Password: password, Name: name, Admin: admin, Roles: roleList, TeamID: teamID}
				out := cmd.OutOrStdout()
				if invt {
					u, tok, err := eng.Access.InviteWith(ctx, in)
					if err != nil {
						return err
					}
					if jsonOut {
						return json.NewEncoder(out).Encode(map[string]any{"user": u, "resetToken": tok})
					}
					fmt.Fprintf(out, "invited %s (%s)\nreset token (valid 24h, shown once): %s\n", u.Email, u.ID, tok)
					return nil
				}
				u, err := eng.Access.CreateUserWith(ctx, in)
				if err != nil {
					return err
				}
				if jsonOut {
					return json.NewEncoder(out).Encode(u)
				}
				fmt.Fprintf(out, "created user %s (%s)\n", u.Email, u.ID)
				return nil
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&email, "email", "", "email address (the login)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&invt, "invite", false, "create without a password and print a reset token to set one")
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().StringVar(&roles, "roles", "", "comma-separated role names (e.g. rep,manager)")
	cmd.Flags().StringVar(&team, "team", "", "team name")
	cmd.Flags().BoolVar(&admin, "admin", false, "make the user a platform administrator")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func userListCmd() *cobra.Command {
	var (
		db      dbFlags
		jsonOut bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, &db, func(ctx context.Context, eng *engine.Engine) error {
				us, err := eng.Access.Users(ctx)
				if err != nil {
					return err
				}
				if jsonOut {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(us)
				}
				ts, err := eng.Access.Teams(ctx)
				if err != nil {
					return err
				}
				teams := map[string]string{}
				for _, t := range ts {
					teams[t.ID] = t.Name
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "EMAIL\tNAME\tROLES\tTEAM\tADMIN\tACTIVE\tID")
				for _, u := range us {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\t%v\t%s\n", u.Email, u.Name, strings.Join(u.Roles, ","), teams[u.TeamID], u.Admin, u.Active, u.ID)
				}
				return w.Flush()
			})
		},
	}
	db.register(cmd)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func userDeactivateCmd() *cobra.Command {
	var (
		db       dbFlags
		email    string
		activate bool
	)
	cmd := &cobra.Command{
		Use:   "deactivate",
		Short: "Deactivate a user: they cannot log in and every token they hold stops working",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withUser(cmd, &db, email, func(ctx context.Context, eng *engine.Engine, u *access.User) error {
				if err := eng.Access.SetActive(ctx, u.ID, activate); err != nil {
					return err
				}
				verb := "deactivated"
				if activate {
					verb = "reactivated"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", verb, u.Email)
				return nil
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&email, "email", "", "the user's email")
	cmd.Flags().BoolVar(&activate, "undo", false, "reactivate instead")
	return cmd
}

func userResetCmd() *cobra.Command {
	var (
		db    dbFlags
		email string
	)
	cmd := &cobra.Command{
		Use:   "reset-password",
		Short: "Print a one-time password reset token (valid 24h) for a user",
		RunE: func(cmd *cobra.Command, args []string) error {
			return withUser(cmd, &db, email, func(ctx context.Context, eng *engine.Engine, u *access.User) error {
				tok, err := eng.Access.ResetPassword(ctx, u.ID)
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), tok)
				return nil
			})
		},
	}
	db.register(cmd)
	cmd.Flags().StringVar(&email, "email", "", "the user's email")
	return cmd
}
