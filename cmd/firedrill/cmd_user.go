package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web/client"
)

func (a *app) userCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the people who act on drills and their roles (admin)",
		Long: `Manage users and their roles (` + strings.Join(drills.Roles, ", ") + `) through the API; every
change needs an admin's token and is recorded with who made it (firedrill user roles-history).
The first admin is created on the database itself by firedrill user bootstrap.`,
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	printUsers := func(users []control.UserView) error {
		if asJSON {
			if users == nil {
				users = []control.UserView{}
			}
			return writeJSON(a.stdout, map[string]any{"users": users})
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLES\tSTATUS")
		for _, u := range users {
			status := "enabled"
			if u.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, orDash(strings.Join(u.Roles, ",")), status)
		}
		return tw.Flush()
	}
	printUser := func(u *control.UserView) error {
		if asJSON {
			return writeJSON(a.stdout, u)
		}
		return printUsers([]control.UserView{*u})
	}

	var roles []string
	add := &cobra.Command{
		Use:   "add NAME --role ROLE [--role ROLE]",
		Short: "Create a user holding roles (" + strings.Join(drills.Roles, ", ") + ")",
		Args:  cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			u, err := c.UserCreate(cmd.Context(), &control.UserCreateParams{Name: args[0], Roles: roles})
			if err != nil {
				return err
			}
			return printUser(u)
		}),
	}
	add.Flags().StringSliceVar(&roles, "role", nil, "a role to hold; repeat or comma-separate")
	cmd.AddCommand(add)
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List users and their roles",
		Args:  cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			users, err := c.UserList(cmd.Context())
			if err != nil {
				return err
			}
			return printUsers(users)
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "disable NAME",
		Short: "Disable a user: their tokens stop working at once",
		Args:  cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			u, err := c.UserDisable(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, u)
			}
			fmt.Fprintf(a.stderr, "user %s disabled: their tokens no longer work\n", u.Name)
			return nil
		}),
	})
	for _, verb := range []string{"grant", "revoke"} {
		change := (*client.Client).RoleGrant
		short := "Grant a user a role"
		if verb == "revoke" {
			change = (*client.Client).RoleRevoke
			short = "Revoke a user's role; tokens stop acting with it at once"
		}
		cmd.AddCommand(&cobra.Command{
			Use:   verb + " NAME ROLE",
			Short: short,
			Args:  cobra.ExactArgs(2),
			RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
				u, err := change(c, cmd.Context(), &control.RoleChangeParams{User: args[0], Role: args[1]})
				if err != nil {
					return err
				}
				return printUser(u)
			}),
		})
	}
	var passwordFile string
	passwordCmd := &cobra.Command{
		Use:   "password NAME [--password-file PATH]",
		Short: "Set a user's console password (admins; the user's console sessions end)",
		Long: `Set the password NAME signs in to the console with. The password is read from the first
line of --password-file, or of standard input (pipe it: typed at a terminal it echoes), never
from a flag or an argument, where the shell's history and ps would keep it. It must be at
least 12 characters. The server hashes it with argon2id and keeps only the hash; the change
is recorded as the operation user.password, without the password. There is no default
password: the first admin (firedrill user bootstrap) gets one this way, with the bootstrap
token.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			pw, err := readPassword(cmd.InOrStdin(), passwordFile)
			if err != nil {
				return err
			}
			u, err := c.PasswordSet(cmd.Context(), &control.PasswordSetParams{User: args[0], Password: pw})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, u)
			}
			fmt.Fprintf(a.stderr, "console password of %s set; their console sessions ended\n", u.Name)
			return nil
		}),
	}
	passwordCmd.Flags().StringVar(&passwordFile, "password-file", "", "read the password from the first line of this file instead of standard input")
	cmd.AddCommand(passwordCmd)
	cmd.AddCommand(&cobra.Command{
		Use:   "roles-history [NAME]",
		Short: "Show every recorded role grant and revocation: who changed what for whom, and when",
		Args:  cobra.MaximumNArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			var name string
			if len(args) == 1 {
				name = args[0]
			}
			grants, err := c.RoleGrantList(cmd.Context(), name)
			if err != nil {
				return err
			}
			if asJSON {
				if grants == nil {
					grants = []control.RoleGrantView{}
				}
				return writeJSON(a.stdout, map[string]any{"grants": grants})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AT (UTC)\tUSER\tCHANGE\tROLE\tBY")
			for _, g := range grants {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.At.UTC().Format("2006-01-02 15:04:05"), g.User, g.Change, g.Role, g.By)
			}
			return tw.Flush()
		}),
	})
	cmd.AddCommand(a.userBootstrapCommand())
	return cmd
}

// userBootstrapCommand creates the first admin on the database itself: before it, no one
// holds a token that could ask a server.
func (a *app) userBootstrapCommand() *cobra.Command {
	var databaseURL string
	var migrate, asJSON bool
	cmd := &cobra.Command{
		Use:   "bootstrap NAME --database-url URL",
		Short: "Create the first admin and print their one-time API token (refused once an admin exists)",
		Long: `Create the first admin, NAME, directly in the database (--database-url) and print an API
token for them on stdout, once: it is stored only as a hash and cannot be shown again. Run it
on a firedrill host; it is recorded as done there by the operating-system user. It is refused
once any admin exists: from then on an admin creates users and tokens through the API
(firedrill user add, firedrill token create). No one has a console password by default: with
this token, give the admin one (firedrill user password NAME).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx, databaseURL, migrate)
			if err != nil {
				return err
			}
			defer st.Close()
			ctl, err := control.New(control.Config{Store: st, Logger: a.logger})
			if err != nil {
				return err
			}
			tok, err := ctl.Bootstrap(ctx, &control.BootstrapParams{Name: args[0], By: localActor()})
			if err != nil {
				return err
			}
			return a.printNewToken(tok, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	f.BoolVar(&migrate, "migrate", false, "apply pending database migrations first (env FIREDRILL_MIGRATE)")
	f.BoolVar(&asJSON, "json", false, "print the token as JSON (its secret included)")
	return cmd
}

// printNewToken prints a token's secret alone on stdout, where a script can take it, and
// says on stderr that it will not be shown again.
func (a *app) printNewToken(tok *control.NewToken, asJSON bool) error {
	if asJSON {
		if err := writeJSON(a.stdout, tok); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(a.stdout, tok.Secret)
	}
	fmt.Fprintf(a.stderr, "token %s for %s (roles %s, expires %s): store it now, it will not be shown again\n",
		tok.ID, tok.User, orDash(strings.Join(tok.Roles, ",")), tok.ExpiresAt.UTC().Format(time.DateOnly))
	return nil
}

func (a *app) tokenCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens (admin)",
		Long: `API tokens authenticate people to the firedrill server: 256 random bits, shown once when
created, stored only as a hash, acting with a set of the user's roles until they expire or
are revoked. A disabled user's tokens stop working at once. Every change needs an admin's
token and is recorded.`,
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the result as JSON")

	var user, description, expiresIn string
	var roles []string
	create := &cobra.Command{
		Use:   "create --user NAME [--role ROLE] [--expires-in DURATION] [--description TEXT]",
		Short: "Create a token and print its secret, once",
		Long: `Create an API token for a user and print its secret on stdout, alone on its line (with
--json, in the JSON); it is stored only as a hash and will not be shown again. The token acts
with --role (a subset of the user's roles; default all of them) until --expires-in has passed
(a Go duration, default 90 days, at most a year).`,
		Args: cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			tok, err := c.TokenCreate(cmd.Context(), &control.TokenCreateParams{User: user, Description: description, Roles: roles, ExpiresIn: expiresIn})
			if err != nil {
				return err
			}
			return a.printNewToken(tok, asJSON)
		}),
	}
	create.Flags().StringVar(&user, "user", "", "whose token it is (required)")
	create.Flags().StringSliceVar(&roles, "role", nil, "a role the token acts with; repeat or comma-separate; default all the user's")
	create.Flags().StringVar(&expiresIn, "expires-in", "", "how long it lasts, e.g. 720h; default 90 days, at most a year")
	create.Flags().StringVar(&description, "description", "", "what the token is for (recorded)")
	cmd.AddCommand(create)

	var listUser string
	list := &cobra.Command{
		Use:   "list [--user NAME]",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			toks, err := c.TokenList(cmd.Context(), listUser)
			if err != nil {
				return err
			}
			if asJSON {
				if toks == nil {
					toks = []control.TokenView{}
				}
				return writeJSON(a.stdout, map[string]any{"tokens": toks})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tROLES\tEXPIRES (UTC)\tLAST USED (UTC)\tSTATUS\tDESCRIPTION")
			for _, t := range toks {
				used := "never"
				if t.LastUsedAt != nil {
					used = t.LastUsedAt.UTC().Format("2006-01-02 15:04")
				}
				status := "active"
				if t.RevokedAt != nil {
					status = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, orDash(strings.Join(t.Roles, ",")),
					t.ExpiresAt.UTC().Format("2006-01-02 15:04"), used, status, orDash(t.Description))
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&listUser, "user", "", "only this user's tokens")
	cmd.AddCommand(list)

	cmd.AddCommand(&cobra.Command{
		Use:   "revoke TOKEN_ID",
		Short: "Revoke a token: it stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			t, err := c.TokenRevoke(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, t)
			}
			fmt.Fprintf(a.stdout, "token %s of %s revoked\n", t.ID, t.User)
			return nil
		}),
	})
	return cmd
}

func (a *app) whoamiCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Say who your API token stands for and what it may do",
		Args:  cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			w, err := c.Whoami(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, w)
			}
			fmt.Fprintf(a.stdout, "%s, acting as %s\n", w.Actor, orDash(strings.Join(w.Roles, ", ")))
			ops := make([]string, len(w.Operations))
			for i, op := range w.Operations {
				ops[i] = string(op)
			}
			fmt.Fprintf(a.stdout, "may: %s\n", orDash(strings.Join(ops, ", ")))
			if w.TokenExpiresAt != nil {
				fmt.Fprintf(a.stdout, "token expires %s\n", w.TokenExpiresAt.UTC().Format(time.RFC3339))
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// actorOrDash says who acted, or "-".
func actorOrDash(a *drills.Actor) string {
	if a == nil || a.IsZero() {
		return "-"
	}
	return a.String()
}

// readPassword reads a password from the first line of file, or of in when file is empty.
func readPassword(in io.Reader, file string) (string, error) {
	what := "standard input"
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		defer f.Close()
		in, what = f, file
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from %s: %w", what, err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("no password on the first line of %s", what)
	}
	return pw, nil
}
