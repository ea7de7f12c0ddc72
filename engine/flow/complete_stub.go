package flow

// TEMPORARY STUB (approvals helper): flow-core owns TakeRequest, Lack and
// complete (engine/flow/transitions.go). Deleted before hand-over.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

type Lack struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

type TakeRequest struct {
	Version int64                      `json:"version"`
	Fields  map[string]json.RawMessage `json:"fields"`
	Comment string                     `json:"comment"`
}

func (s *Service) complete(ctx context.Context, c records.Caller, app, entity, id, transition string, fields map[string]json.RawMessage, comment, newOwner string) (*records.Record, error) {
	doc, err := s.catalog.App(ctx, app)
	if err != nil {
		return nil, err
	}
	f := doc.FlowOf(entity)
	if f == nil {
		return nil, fmt.Errorf("no flow")
	}
	t := f.Transition(transition)
	if t == nil {
		return nil, fmt.Errorf("no transition")
	}
	vals := map[string]any{f.Field: t.To}
	for k, raw := range fields {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		vals[k] = v
	}
	if newOwner != "" {
		vals["owner"] = newOwner
	}
	return s.records.Move(ctx, c, app, entity, id, records.Move{Transition: f.Name + "/" + t.Name, Comment: comment, Values: vals, Trusted: true})
}

const MaxComment = 4000

func refused(all []Lack) error {
	ps := make(schema.Problems, len(all))
	for i, l := range all {
		ps[i] = schema.Problem{Path: l.Path, Message: l.Message}
	}
	return &records.Error{Status: 422, Code: "transition_refused", Message: "the transition cannot be taken now", Details: ps}
}
