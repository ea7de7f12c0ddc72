package flow

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/notify"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Who approves, and what each person is shown.
//
// Need-to-know: an approver must be able to read the record they decide
// on. Approvers their roles would not let read it are left out when a
// step's approvers are resolved (and a delegate who may not read it is
// refused), so nobody is granted a read of a record through an approval:
// the inbox only ever lists requests on records its reader may read, and
// the title is shown only when the reader may read the title field.

// directory is one read of the organisation's users.
type directory struct {
	byID map[string]access.User
}

func (s *Service) directory(ctx context.Context) (*directory, error) {
	users, err := s.access.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("flow: read users: %w", err)
	}
	d := &directory{byID: make(map[string]access.User, len(users))}
	for _, u := range users {
		d.byID[u.ID] = u
	}
	return d, nil
}

// active returns the active user with this id or email, if any.
func (d *directory) active(idOrEmail string) (access.User, bool) {
	k := strings.ToLower(strings.TrimSpace(idOrEmail))
	if u, ok := d.byID[k]; ok {
		return u, u.Active
	}
	for _, u := range d.byID {
		if u.Email == k {
			return u, u.Active
		}
	}
	return access.User{}, false
}

func (d *directory) name(id string) string {
	u, ok := d.byID[id]
	if !ok {
		return ""
	}
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// callerOf is how user reads records.
func callerOf(u access.User) records.Caller {
	return records.Caller{UserID: u.ID, Admin: u.Admin, Roles: u.Roles, TeamID: u.TeamID, Path: records.PathFlow}
}

// mayRead says whether the user may read the record.
func (s *Service) mayRead(ctx context.Context, u access.User, app, entity, id string) (bool, error) {
	return s.callerMayRead(ctx, callerOf(u), app, entity, id)
}

func (s *Service) callerMayRead(ctx context.Context, c records.Caller, app, entity, id string) (bool, error) {
	_, err := s.records.Get(ctx, c, app, entity, id, "id", "")
	if err == nil {
		return true, nil
	}
	if re, ok := err.(*records.Error); ok && re.Status < 500 {
		return false, nil
	}
	return false, err
}

// stateOf is the record's state as text.
func stateOf(rec *records.Record, field string) string {
	v, _ := rec.Get(field).(string)
	return v
}

// userFields are the record's user fields' values (field → user id).
func userFields(app *schema.App, entity string, rec *records.Record) map[string]string {
	out := map[string]string{}
	e := app.Entity(entity)
	if e == nil {
		return out
	}
	for _, f := range e.Fields {
		if f.Type == schema.User {
			if v, ok := rec.Get(f.Name).(string); ok {
				out[f.Name] = v
			}
		}
	}
	return out
}

func (s *Service) notifier() *notify.Service {
	if s.notify != nil {
		return s.notify
	}
	return notify.New(s.db, s.access)
}

// resolveStep returns the approvers of step st for rec: the union of its
// roles' users, the record's user fields, the manager of the owner's team
// and the named users; never the requester (when that removes the manager
// the step names, the manager above the requester takes their place), and
// only active users who may read the record. Sorted.
func (s *Service) resolveStep(ctx context.Context, dir *directory, app *schema.App, entity string, st *schema.ApprovalStep, rec *records.Record, requester string) ([]string, error) {
	owner, _ := rec.Get("owner").(string)
	to := schema.Recipients{Roles: st.Approvers.Roles, Fields: st.Approvers.Fields, Manager: st.Approvers.Manager, Users: st.Approvers.Users}
	ids, err := s.notifier().Resolve(ctx, app.Name, to, owner, userFields(app, entity, rec))
	if err != nil {
		return nil, fmt.Errorf("flow: resolve approvers: %w", err)
	}
	if i := slices.Index(ids, requester); i >= 0 {
		ids = slices.Delete(ids, i, i+1)
		if st.Approvers.Manager {
			m, err := s.access.ManagerOf(ctx, requester)
			if err != nil {
				return nil, fmt.Errorf("flow: resolve approvers: %w", err)
			}
			if m != "" && m != requester {
				ids = append(ids, m)
			}
		}
	}
	return s.readers(ctx, dir, app.Name, entity, rec.ID(), ids, requester)
}

// readers keeps the active users among ids, other than except, who may
// read the record. Sorted, without repeats.
func (s *Service) readers(ctx context.Context, dir *directory, app, entity, id string, ids []string, except string) ([]string, error) {
	out := []string{}
	for _, uid := range ids {
		u, ok := dir.active(uid)
		if !ok || u.ID == except || slices.Contains(out, u.ID) {
			continue
		}
		ok, err := s.mayRead(ctx, u, app, entity, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, u.ID)
		}
	}
	slices.Sort(out)
	return out, nil
}

// managersOf are the managers above each user (access.ManagerOf).
func (s *Service) managersOf(ctx context.Context, users []string) ([]string, error) {
	var out []string
	for _, u := range users {
		m, err := s.access.ManagerOf(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("flow: managers: %w", err)
		}
		if m != "" && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// notifyTx tells users about request r in tx (once per key and user).
func (s *Service) notifyTx(ctx context.Context, tx store.Conn, r *request, users []string, key, message string) error {
	if s.notify == nil || len(users) == 0 {
		return nil
	}
	ns := make([]notify.Notification, 0, len(users))
	for _, u := range users {
		ns = append(ns, notify.Notification{UserID: u, App: r.App, Entity: r.Entity, RecordID: r.RecordID, Message: message,
			Key: fmt.Sprintf("%s:%d:%d:%s", key, r.Step, r.Version, u)})
	}
	_, err := s.notify.Send(ctx, tx, ns)
	return err
}

func (s *Service) askMessage(dir *directory, app *schema.App, f *schema.Flow, t *schema.Transition, r *request) string {
	if r.Kind == KindHandover {
		return fmt.Sprintf("%s hands a %s record over to you: accept or refuse it in your approvals.", dir.name(r.Requester), r.Entity)
	}
	return fmt.Sprintf("%s asks for your approval: %s of a %s record.", dir.name(r.Requester), labelOf(t.Label, t.Name), r.Entity)
}

// auditTx writes an audit entry in tx (the decision and its entry commit
// together; access.Audit writes outside any transaction, which on SQLite
// would wait for this one's write lock).
func (s *Service) auditTx(ctx context.Context, tx store.Conn, actor, action string, r *request, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["app"], detail["entity"], detail["record"], detail["transition"] = r.App, r.Entity, r.RecordID, r.Flow+"/"+r.Transition
	b, _ := json.Marshal(detail)
	_, err := tx.ExecContext(ctx, `INSERT INTO _forma_audit ("id", "at", "actor", "action", "target", "detail", "ip") VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.newID(), s.db.Now(), actor, action, "approval "+r.ID, string(b), "")
	if err != nil {
		return fmt.Errorf("flow: audit: %w", err)
	}
	return nil
}

// titleField is the field that names a record (the web UI's choice): the
// first text field, else the first email, phone, url or long text.
func titleField(e *schema.Entity) string {
	for _, f := range e.Fields {
		if f.Type == schema.Text {
			return f.Name
		}
	}
	for _, f := range e.Fields {
		switch f.Type {
		case schema.Email, schema.Phone, schema.URL, schema.LongText:
			return f.Name
		}
	}
	return ""
}

// viewOf is request r as viewer sees it. rec, when given, is the record
// (read with full access, e.g. locked by WithRecord); else it is read as
// the viewer reads it.
func (s *Service) viewOf(ctx context.Context, app *schema.App, r *request, viewer records.Caller, rec *records.Record, dir *directory) (*ApprovalView, error) {
	v := &ApprovalView{ID: r.ID, App: r.App, Entity: r.Entity, RecordID: r.RecordID, Flow: r.Flow, Transition: r.Transition,
		TransitionLabel: r.Transition, From: r.FromState, Kind: r.Kind, Status: r.Status, Requester: r.Requester,
		RequesterName: dir.name(r.Requester), Comment: r.Comment, Step: r.Step, Version: r.Version,
		CanDecide: r.openTask(viewer.UserID) != nil, CreatedAt: time.UnixMilli(r.RequestedAt).UTC(), DecidedAt: msTime(r.DecidedAt),
		Fields: map[string]json.RawMessage{}, Steps: []StepView{}}
	_ = json.Unmarshal([]byte(r.Fields), &v.Fields)
	readable, _ := s.records.Readable(app, r.Entity, viewer)
	for k := range v.Fields {
		if !readable[k] {
			delete(v.Fields, k) // a field the viewer's role hides
		}
	}
	var t *schema.Transition
	if f := app.Flow(r.Flow); f != nil {
		if t = f.Transition(r.Transition); t != nil {
			v.TransitionLabel, v.TransitionLabels, v.To = labelOf(t.Label, t.Name), t.Labels, t.To
		}
		if st := f.State(v.From); st != nil {
			v.FromLabel, v.FromLabels = labelOf(st.Label, st.Name), st.Labels
		}
		if st := f.State(v.To); st != nil {
			v.ToLabel, v.ToLabels = labelOf(st.Label, st.Name), st.Labels
		}
	}
	if e := app.Entity(r.Entity); e != nil {
		if tf := titleField(e); tf != "" {
			if readable[tf] {
				if rec == nil {
					rec, _ = s.records.Get(ctx, viewer, r.App, r.Entity, r.RecordID, tf, "")
				}
				if rec != nil {
					if title, ok := rec.Get(tf).(string); ok {
						v.Title = title
					}
				}
			}
		}
	}
	for _, st := range r.steps {
		sv := StepView{Status: st.Status, Deadline: msTime(st.Deadline), Mode: schema.ApproveAny, Approvers: []Approver{}}
		switch {
		case r.Kind == KindHandover:
			sv.Name, sv.Label = "receiver", "Receiver"
		case t != nil && t.Approval != nil && st.Idx < len(t.Approval.Steps):
			def := &t.Approval.Steps[st.Idx]
			sv.Name, sv.Label, sv.Labels, sv.Quorum = def.Name, labelOf(def.Label, def.Name), def.Labels, def.Quorum
			if def.Mode != "" {
				sv.Mode = def.Mode
			}
		}
		for _, tk := range r.tasksOf(st.Idx) {
			sv.Approvers = append(sv.Approvers, Approver{UserID: tk.UserID, Name: dir.name(tk.UserID), Decision: tk.Decision,
				DelegatedTo: tk.DelegatedTo, Comment: tk.Comment, At: msTime(tk.At)})
		}
		v.Steps = append(v.Steps, sv)
	}
	return v, nil
}
