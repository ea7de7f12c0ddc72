package assign

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

// MaxReason bounds a reassignment's reason.
const MaxReason = 1000

// invalid is a 422 at path with code.
func invalid(path, code, format string, args ...any) *records.Error {
	msg := fmt.Sprintf(format, args...)
	return &records.Error{Status: 422, Code: records.CodeInvalid, Message: msg, Details: []schema.Problem{{Path: path, Code: code, Message: msg}}}
}

// reassign is a manager's reassignment: to a named user, or by the rule
// to someone other than the owner, with the reason in the history.
func (s *Service) reassign(ctx context.Context, c records.Caller, appName, entity, id string, req ReassignRequest) (*records.Record, *Decision, error) {
	reason := strings.TrimSpace(req.Reason)
	switch {
	case reason == "":
		return nil, nil, invalid("/reason", "required", "a reassignment needs a reason, for the record's history")
	case utf8.RuneCountInString(reason) > MaxReason || !utf8.ValidString(reason) || strings.ContainsRune(reason, 0):
		return nil, nil, invalid("/reason", "max_length", "a reason is text of at most %d characters", MaxReason)
	case req.Version < 0:
		return nil, nil, invalid("/version", "min", "version must be 0 or more")
	}
	if _, err := s.records.Get(ctx, c, appName, entity, id, "", ""); err != nil {
		return nil, nil, err // 404: not there, or not for c
	}
	app, err := s.catalog.App(ctx, appName)
	if err != nil {
		return nil, nil, err
	}
	var rules []*schema.Assignment
	for i := range app.Assignments {
		if app.Assignments[i].Entity == entity && (req.Rule == "" || app.Assignments[i].Name == req.Rule) {
			rules = append(rules, &app.Assignments[i])
		}
	}
	if req.Rule != "" && len(rules) == 0 {
		return nil, nil, invalid("/rule", "unknown_assignment", "app %s has no assignment rule %q for %s records", app.Name, clip(req.Rule, 80), entity)
	}
	manual := &schema.Assignment{Entity: entity}
	if len(rules) > 0 {
		manual.Field = rules[0].Field
	}
	check := rules
	if len(check) == 0 {
		check = []*schema.Assignment{manual}
	}
	ok, err := s.mayReassign(ctx, c, app, check, id)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, &records.Error{Status: 403, Code: records.CodeForbidden,
			Message: "only an admin, a reassigner of the rule or the manager of the owner's team may reassign this record"}
	}
	o := Options{Caller: c, Reason: reason, SkipPool: true}
	if req.To == "" {
		if len(rules) != 1 {
			return nil, nil, invalid("/rule", "assignment", "name the user to reassign to (to) or the rule to reassign by (rule): %s records have %d rules", entity, len(rules))
		}
		d, rec, err := s.run(ctx, app, rules[0], rules[0].Name, id, o, how{version: req.Version, trusted: true, excludeOwner: true, requireWinner: true})
		return rec, d, err
	}
	dir, err := s.directory(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	p := dir.find(req.To)
	if p == nil || !p.Active || !s.records.Member(app, records.Caller{UserID: p.ID, Admin: p.Admin, Roles: p.Roles, TeamID: p.TeamID}) {
		return nil, nil, invalid("/to", "inactive_user", "%q is not an active user of app %s", clip(req.To, 80), app.Name)
	}
	owner, err := s.ownerOf(ctx, app, manual, id)
	if err != nil {
		return nil, nil, err
	}
	if p.ID == owner {
		return nil, nil, invalid("/to", "same_user", "the record is already %s's", p.Name)
	}
	if len(rules) == 1 {
		manual.Name = rules[0].Name
	}
	d, rec, err := s.run(ctx, app, manual, manual.Name, id, o, how{to: p.ID, version: req.Version, trusted: true})
	return rec, d, err
}
