package records

import (
	"context"
	"fmt"
	"time"

	"github.com/formaapp/forma/engine/store"
)

// transferHook, when set (by tests), runs inside the transfer's transaction
// after each entity's records have moved; an error it returns fails the
// whole transfer.
var transferHook func(app, entity string) error

// TransferOwner hands every record owned by the user from, in every entity
// of every installed app, over to the user to, in one transaction: either
// all of them move or none does. Each moved record is written like any
// other change: its version goes up by one (so a stale PATCH answers 409),
// updated_at is set, and one history entry records the change of owner,
// with path system and actor as the actor. It returns how many records
// moved per "app.entity", listing only the entities where some did.
//
// Callers check that both users exist; TransferOwner only moves rows.
func (s *Service) TransferOwner(ctx context.Context, actor, from, to string) (map[string]int64, error) {
	if from == "" || to == "" || from == to {
		return nil, errorf(422, CodeInvalid, "a transfer needs two different users")
	}
	return retry(func() (map[string]int64, error) { return s.transferOwner(ctx, actor, from, to) })
}

func (s *Service) transferOwner(ctx context.Context, actor, from, to string) (map[string]int64, error) {
	apps, err := s.db.Apps(ctx)
	if err != nil {
		return nil, err
	}
	// Resolve every entity before the transaction: the catalog may read
	// metadata, which on SQLite needs a pool connection that the write
	// transaction would otherwise be holding up.
	var infos []*entityInfo
	for _, a := range apps {
		app, err := s.catalog.App(ctx, a.Name)
		if err != nil {
			return nil, fmt.Errorf("records: transfer: app %s: %w", a.Name, err)
		}
		for _, e := range app.Entities {
			info, err := s.entity(ctx, a.Name, e.Name)
			if err != nil {
				return nil, err
			}
			infos = append(infos, info)
		}
	}

	now := s.db.Now()
	c := Caller{UserID: actor, Path: PathSystem}
	changes := []byte(`{"owner":{"old":`)
	changes = appendString(changes, from)
	changes = append(changes, `,"new":`...)
	changes = appendString(changes, to)
	changes = append(changes, `}}`...)

	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("records: begin: %w", err)
	}
	defer tx.Rollback()
	moved := map[string]int64{}
	for _, info := range infos {
		n, err := s.transferEntity(ctx, tx, info, c, from, to, now, changes)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			moved[info.app.Name+"."+info.entity.Name] = n
		}
		if transferHook != nil {
			if err := transferHook(info.app.Name, info.entity.Name); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, s.writeError(err)
	}
	return moved, nil
}

// transferEntity moves one entity's records from one owner to the other
// inside tx and writes their history. One UPDATE … RETURNING both changes
// the rows and names them, so every row it changed gets its entry and no
// other does.
func (s *Service) transferEntity(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, from, to string, now time.Time, changes []byte) (int64, error) {
	q := "UPDATE " + store.Quote(info.table) + ` SET "owner" = ?, "version" = "version" + 1, "updated_at" = ? WHERE "owner" = ? RETURNING "id", "version"`
	rows, err := tx.QueryContext(ctx, q, to, encode(s.dialect, systemFields[2], now), from)
	if err != nil {
		return 0, s.transferError(info, err)
	}
	type moved struct {
		id      string
		version int64
	}
	var ms []moved
	for rows.Next() {
		var m moved
		if err := rows.Scan(&m.id, &m.version); err != nil {
			rows.Close()
			return 0, fmt.Errorf("records: transfer %s.%s: %w", info.app.Name, info.entity.Name, err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return 0, s.transferError(info, err)
	}
	if err := rows.Close(); err != nil {
		return 0, s.transferError(info, err)
	}
	for _, m := range ms {
		if err := s.writeHistory(ctx, tx, info, c, m.id, m.version, OpUpdate, now, changes, nil, nil); err != nil {
			return 0, err
		}
	}
	return int64(len(ms)), nil
}

// transferError names the entity whose records could not move. A unique
// index over owner is the one constraint a change of owner can break.
func (s *Service) transferError(info *entityInfo, err error) error {
	werr := s.writeError(err)
	if re, ok := werr.(*Error); ok && re.Code == CodeDuplicate {
		return &Error{Status: 409, Code: CodeDuplicate, Message: fmt.Sprintf(
			"the records of %s.%s cannot move: the new owner already has a record with the same values in a unique index over owner; nothing was moved",
			info.app.Name, info.entity.Name)}
	}
	return fmt.Errorf("records: transfer %s.%s: %w", info.app.Name, info.entity.Name, werr)
}
