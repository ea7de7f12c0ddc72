// Command pgcheck exits non-zero unless the PostgreSQL URL it is given
// answers, so CI fails loudly instead of skipping the PostgreSQL suite.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] == "" {
		fmt.Fprintln(os.Stderr, "usage: pgcheck POSTGRES_URL")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", os.Args[1])
	if err == nil {
		err = db.PingContext(ctx)
		db.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "PostgreSQL unreachable:", err)
		os.Exit(1)
	}
	fmt.Println("PostgreSQL ok")
}
