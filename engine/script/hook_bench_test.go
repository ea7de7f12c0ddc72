package script

import (
	"context"
	"testing"
)

// BenchmarkHookCall is a beforeSave-shaped call: a record of ten fields as
// a *Record, a ctx object and the db natives, a trivial body.
func BenchmarkHookCall(b *testing.B) {
	e := mustNew(b, map[string]string{"deal": `function beforeSave(record, ctx) { if (record.title === "") record.title = "untitled"; }`}, Options{PoolSize: 1, Natives: map[string][]string{"db": {"find", "get"}}})
	values := map[string]any{"id": "01jabcdefghjkmnpqrstvwxyz0", "created_at": "2026-11-22T10:00:00.000000Z", "updated_at": "2026-11-22T10:00:00.000000Z",
		"created_by": "01jabcdefghjkmnpqrstvwxyz1", "owner": "01jabcdefghjkmnpqrstvwxyz1", "version": 1,
		"title": "Deal 1", "amount": 1234.5, "stage": "won", "region": "east"}
	writable := map[string]bool{"title": true, "amount": true, "stage": true, "region": true, "owner": true}
	ro := map[string]string{"id": "it is set by the server", "created_at": "it is set by the server", "updated_at": "it is set by the server", "created_by": "it is set by the server", "version": "it is set by the server"}
	ctxArg := map[string]any{"user": map[string]any{"id": "u1", "roles": []string{"rep"}, "team": "", "admin": false}, "app": "crm", "entity": "deal",
		"event": "beforeSave", "isNew": true, "previous": nil, "changed": []string{"title", "amount", "stage", "region"}}
	natives := map[string]map[string]Native{"db": {
		"find": func(ctx context.Context, args []any) (any, error) { return nil, nil },
		"get":  func(ctx context.Context, args []any) (any, error) { return nil, nil },
	}}
	shape := &Shape{Name: "deal", Writable: writable, ReadOnly: ro}
	b.ReportAllocs()
	for b.Loop() {
		rec := &Record{Values: values, Shape: shape}
		if _, err := e.Invoke(context.Background(), "deal", "beforeSave", []any{rec, ctxArg}, Env{Natives: natives}); err != nil {
			b.Fatal(err)
		}
	}
}
