package records

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/schema"
)

// ViewQuery is what a saved view stores of a list: its filter, sort and
// columns. CheckView checks it as the list would run it.
type ViewQuery struct {
	Filter  string
	Sort    string
	Columns []string
}

// CheckView checks a saved view's query for caller c on app/entity, under
// c's rules: the filter compiles (its fields, refs and values), the sort
// and the columns name fields c may see. It answers the problems at
// /filter, /sort and /columns/i (codes filter, unknown_field), or an
// error when c may not read the entity at all (404/403 as a list would).
func (s *Service) CheckView(ctx context.Context, c Caller, app, entity string, q ViewQuery) (schema.Problems, error) {
	return retry(func() (schema.Problems, error) { return s.checkView(ctx, c, app, entity, q) })
}

func (s *Service) checkView(ctx context.Context, c Caller, app, entity string, q ViewQuery) (_ schema.Problems, err error) {
	info, _, err := s.readable(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	// The checks read the cached document: confirm it is current.
	defer func() { err = s.settled(ctx, info, true, err) }()
	info = s.visible(info, c)
	var problems schema.Problems
	if strings.TrimSpace(q.Filter) != "" {
		node, err := filter.Parse(q.Filter)
		if err == nil {
			_, _, err = filter.Compile(node, callerFilter{s, info, c}, s.encodeLiteral(info, &c), s.dialect)
		}
		if err == nil {
			rr, rerr := s.readerRollups(info, c)
			if rerr != nil {
				return nil, rerr
			}
			err = refusePerReader(rr, node, nil)
		}
		if err != nil {
			var fe *filter.Error
			var re *Error
			switch {
			case errors.As(err, &fe):
				addProblem(&problems, "/filter", "filter", ProblemFilter, map[string]any{"position": fe.Pos}, "%s", fe.Error())
			case errors.As(err, &re):
				addProblem(&problems, "/filter", "filter", ProblemFilter, nil, "%s", re.Message)
			default:
				return nil, err
			}
		}
	}
	if _, err := info.sortKeys(q.Sort); err != nil {
		msg := err.Error()
		var re *Error
		if errors.As(err, &re) {
			msg = re.Message
		}
		addProblem(&problems, "/sort", "sort", ProblemUnknownField, nil, "%s", msg)
	}
	for i, col := range q.Columns {
		if info.byName[col] == nil {
			addProblem(&problems, "/columns/"+strconv.Itoa(i), col, ProblemUnknownField, nil, "unknown field %q", col)
		}
	}
	return problems, nil
}
