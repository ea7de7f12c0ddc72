package store

import (
	"database/sql/driver"
	"sync"
	"time"

	gosqlite "github.com/glebarez/go-sqlite"
)

// LocalTimeFunc is the SQLite function forma_local_time(utc, zone): a
// stored datetime (UTC text) as local wall time "YYYY-MM-DD HH:MM:SS" in
// an IANA zone. SQLite has no time zone database; dashboards bucket dates
// in a zone whose offset changes (daylight saving) through it.
const LocalTimeFunc = "forma_local_time"

var zones sync.Map // name → *time.Location

func registerLocalTime() {
	gosqlite.MustRegisterDeterministicScalarFunction(LocalTimeFunc, 2,
		func(ctx *gosqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			s, ok1 := args[0].(string)
			name, ok2 := args[1].(string)
			if !ok1 || !ok2 {
				return nil, nil
			}
			loc, ok := zones.Load(name)
			if !ok {
				l, err := time.LoadLocation(name)
				if err != nil {
					return nil, err
				}
				zones.Store(name, l)
				loc = l
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, nil
			}
			return t.In(loc.(*time.Location)).Format(time.DateTime), nil
		})
}
