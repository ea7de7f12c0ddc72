package records

import (
	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// callerFilter resolves a list filter's names for one caller, following a
// ref one hop (filter.RefResolver): store.name ~ "静安" compares the name of
// the store records the caller may read, under the target entity's row and
// field rules, so a filter finds no more through a ref than the caller
// could read of the target directly. A target field hidden from them is an
// unknown field, as on the target itself.
type callerFilter struct {
	s    *Service
	info *entityInfo // as the caller sees it (visible)
	c    Caller
}

func (r callerFilter) Column(name string) (filter.Column, bool) { return r.info.Column(name) }

// refTarget is ref field name of info and the entity it points at; false
// when name is no ref field (or its target is gone).
func (s *Service) refTarget(info *entityInfo, name string) (*schema.Field, *entityInfo, bool) {
	f := info.byName[name]
	if f == nil || f.Type != schema.Ref {
		return nil, nil, false
	}
	t := s.infoOf(info.app, f.Entity)
	return f, t, t != nil
}

func (r callerFilter) Ref(name string) (filter.Ref, bool) {
	f, t, ok := r.s.refTarget(r.info, name)
	if !ok {
		return filter.Ref{}, false
	}
	g, err := r.s.grant(t, r.c, schema.OpRead)
	if err != nil {
		return filter.Ref{}, false
	}
	tv := r.s.visible(t, r.c)
	ref := filter.Ref{SQL: store.Quote(f.Name), Table: store.Quote(t.table), Target: targetColumns{tv, r.s.perReaderFields(t)},
		Enc: r.s.encodeLiteral(tv, &r.c)}
	switch {
	case g.none:
		ref.None = true
	case !g.all:
		ref.Where, ref.Args = g.where, g.args
	}
	return ref, true
}

// targetColumns are a ref target's fields a filter may compare: those the
// caller sees, less rollups whose value depends on the reader.
type targetColumns struct {
	info      *entityInfo
	perReader map[string]bool
}

func (t targetColumns) Column(name string) (filter.Column, bool) {
	if t.perReader[name] {
		return filter.Column{}, false
	}
	return t.info.Column(name)
}

// perReaderFields names the rollups of info counted per reader.
func (s *Service) perReaderFields(info *entityInfo) map[string]bool {
	m := map[string]bool{}
	for _, f := range info.fields {
		if f.Type == schema.Rollup && f.Rollup.PerReader() {
			m[f.Name] = true
		}
	}
	return m
}

// ruleFilter resolves the names of a role's condition: the entity's fields,
// and through a ref one hop its target's (store.region = "east"). A
// condition is the admin's rule about the data, not the caller's query, so
// it reads every field it names, hidden or not, and the target's records
// whatever the caller may read of them (as a formula reading store.region
// does); following the target's own role rules could loop (store's rule
// naming orders) and would make one entity's rows depend on another's
// rules. Rollups whose value depends on the reader are not comparable.
// The caller's values (@me) are still theirs; c is nil when the document is
// only checked.
type ruleFilter struct {
	s    *Service
	info *entityInfo
	c    *Caller
}

func (r ruleFilter) Column(name string) (filter.Column, bool) { return r.info.Column(name) }

func (r ruleFilter) Ref(name string) (filter.Ref, bool) {
	f, t, ok := r.s.refTarget(r.info, name)
	if !ok {
		return filter.Ref{}, false
	}
	return filter.Ref{SQL: store.Quote(f.Name), Table: store.Quote(t.table), Target: targetColumns{t, r.s.perReaderFields(t)},
		Enc: r.s.encodeLiteral(t, r.c)}, true
}
