package records

import (
	"context"

	"github.com/formaapp/forma/schema"
)

// Each calls fn with each field the record holds and its engine value
// (the types at the top of values.go), in field order.
func (r *Record) Each(fn func(f *schema.Field, v any)) {
	for i, f := range r.fields {
		fn(f, r.values[i])
	}
}

// ReadableFields returns the app document and the fields of entity that c
// may read, in field order (system fields first), for what lists every
// column a caller sees (an export). It answers 404 for an entity c cannot
// see and 403 when c may read no record of it, as List does.
func (s *Service) ReadableFields(ctx context.Context, c Caller, app, entity string) (*schema.App, []*schema.Field, error) {
	v, err := retry(func() (*entityInfo, error) {
		info, _, err := s.readable(ctx, c, app, entity)
		if err != nil {
			return nil, err
		}
		return s.visible(info, c), s.settled(ctx, info, true, nil)
	})
	if err != nil {
		return nil, nil, err
	}
	return v.app, v.fields, nil
}

// Expanded returns the record a ref field points at when the list asked
// to expand it (Query.Expand) and the caller may read it, else nil.
func (r *Record) Expanded(name string) *Record {
	for _, e := range r.expand {
		if e.name == name {
			return e.record
		}
	}
	return nil
}
