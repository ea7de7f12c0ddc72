package assign

import (
	"context"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// enterPool puts the record id into rule r's pool inside tx, the
// decision's transaction (d says so: Strategy "pool", Pool the pool's
// name; it is logged after enterPool returns). The pool (pool.go) owns
// what entering means; this is the one point where deciding hands over.
func (s *Service) enterPool(ctx context.Context, tx store.Conn, app *schema.App, r *schema.Assignment, id string, d *Decision) error {
	return s.poolEnter(ctx, tx, app, r, id)
}
