package bulk

import (
	"context"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

// MergeRequest is the body of POST …/{id}/merge.
type MergeRequest struct {
	Duplicate string            `json:"duplicate"`
	Fields    map[string]string `json:"fields,omitempty"` // field → "survivor" | "duplicate"
	Version   *int64            `json:"version,omitempty"`
}

// Merge merges req.Duplicate into the record id of app's entity in one
// transaction (records.Service.Merge says what it does and what it
// refuses): the survivor takes the chosen fields, every ref to the
// duplicate moves to the survivor, both histories are kept with a note on
// each, the duplicate is deleted and its match keys with it (the delete's
// event). It answers the survivor as c sees it.
func (s *Service) Merge(ctx context.Context, c records.Caller, app, entity, id string, req MergeRequest) (*records.Record, error) {
	m := records.Merge{Duplicate: req.Duplicate, Fields: req.Fields}
	if req.Version != nil {
		if *req.Version < 1 {
			return nil, records.NewError(422, records.CodeInvalid, "the merge is not valid", schema.Problem{Path: "/version", Code: "min",
				Params: map[string]any{"field": "version", "limit": 1}, Message: "version must be the survivor's version you read (1 or more)"})
		}
		m.Version = *req.Version
	}
	return s.records.Merge(ctx, c, app, entity, id, m)
}
