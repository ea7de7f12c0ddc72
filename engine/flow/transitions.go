package flow

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Lack is one thing a transition still needs, at a path: /guard,
// /evidence/<field>, /fields/<field>, /comment, /from, /pending, /roles.
type Lack struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	// Messages are Message in other languages (a guard's guardMessages);
	// the API answers the reader's.
	Messages schema.Labels `json:"-"`
}

// Option is one transition as a caller sees it now.
type Option struct {
	Name     string                   `json:"name"`
	Label    string                   `json:"label"`
	Labels   schema.Labels            `json:"labels,omitempty"`
	To       string                   `json:"to"`
	Allowed  bool                     `json:"allowed"` // the caller may take it now
	Lacks    []Lack                   `json:"lacks"`   // what is missing ([] when Allowed)
	Fields   []schema.TransitionField `json:"fields"`
	Comment  string                   `json:"comment"`
	Approval bool                     `json:"approval"` // taking it asks for approval
	Handover bool                     `json:"handover"`
}

// Available is what a record's stage bar and transition buttons show.
type Available struct {
	Flow    string         `json:"flow"`
	Field   string         `json:"field"`
	State   string         `json:"state"`
	States  []schema.State `json:"states"`
	Pending *PendingInfo   `json:"pending"` // null when none
	// Items are the transitions leaving the current state that the
	// caller's roles allow (others are not listed).
	Items []Option `json:"items"`
}

// TakeRequest is the body of POST …/transitions/{name}.
type TakeRequest struct {
	Version int64                      `json:"version"`
	Fields  map[string]json.RawMessage `json:"fields"`
	Comment string                     `json:"comment"`
}

// Taken is what taking a transition did: moved the record, or asked for
// an approval (or a hand-over). Exactly one is set.
type Taken struct {
	Record   *records.Record
	Approval *ApprovalView
}

// MaxComment bounds a transition's comment, in bytes.
const MaxComment = 4000

// CodeRefused is the 422 code of a transition the record or the caller
// does not meet; its details are every lack.
const CodeRefused = "transition_refused"

// registerTransitions makes every move run its transition's actions on
// enter, inside the move's transaction (through the automation runs).
func (s *Service) registerTransitions(ctx context.Context) error {
	if s.autos == nil {
		return nil
	}
	s.records.Subscribe(func(ctx context.Context, tx store.Conn, ev *records.Event) error {
		if ev.Transition == "" || ev.Path != records.PathFlow {
			return nil
		}
		return s.autos.StartTransitionTx(ctx, tx, ev)
	})
	return nil
}

// target is a flow transition on one record, resolved for a caller.
type target struct {
	app  *schema.App
	flow *schema.Flow
	tr   *schema.Transition // nil when listing
	id   string
	// rec is the whole record (every field, whatever the caller may see),
	// for guards and evidence; its fields are named in the document.
	rec map[string]any
}

// resolve finds the record (404 unless c may read it), its app's flow
// over entity (404 for none) and, when name is set, the transition (404).
// With full, it reads the whole record too (a move reads it under its lock
// instead).
func (s *Service) resolve(ctx context.Context, c records.Caller, app, entity, id, name string, full bool) (*target, error) {
	if _, err := s.records.Get(ctx, c, app, entity, id, "id", ""); err != nil {
		return nil, err
	}
	doc, err := s.catalog.App(ctx, app)
	if err != nil {
		return nil, err
	}
	f := doc.FlowOf(entity)
	if f == nil {
		return nil, &records.Error{Status: 404, Code: records.CodeNotFound, Message: fmt.Sprintf("no flow governs %s records", entity)}
	}
	t := &target{app: doc, flow: f, id: id}
	if name != "" {
		if t.tr = f.Transition(name); t.tr == nil {
			return nil, &records.Error{Status: 404, Code: records.CodeNotFound, Message: fmt.Sprintf("flow %s has no transition %q", f.Name, name)}
		}
	}
	if !full {
		return t, nil
	}
	rec, err := s.records.Get(ctx, records.Caller{Admin: true}, app, entity, id, "", "")
	if err != nil {
		return nil, err
	}
	if t.rec, err = apiForm(rec); err != nil {
		return nil, err
	}
	return t, nil
}

// apiForm is a record in the API's value form, numbers as json.Number.
func apiForm(r *records.Record) (map[string]any, error) {
	raw, _ := r.MarshalJSON()
	return decodeValues(raw)
}

func decodeValues(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("flow: record: %w", err)
	}
	return m, nil
}

// current is a record's state: a record with none (written before its
// entity had a flow) is in the initial state.
func current(f *schema.Flow, state string) string {
	if state == "" {
		return f.InitialState()
	}
	return state
}

// mayTake says whether c's roles allow t (every role, when it names none).
func mayTake(c records.Caller, t *schema.Transition) bool {
	if c.Admin || len(t.Roles) == 0 {
		return true
	}
	for _, r := range c.Roles {
		for _, want := range t.Roles {
			if r == want {
				return true
			}
		}
	}
	return false
}

// Transitions lists what the caller may take on the record now, with what
// each still lacks (its guard and evidence over the record as it is: the
// fields a transition fills are filled when it is taken).
func (s *Service) Transitions(ctx context.Context, c records.Caller, app, entity, id string) (*Available, error) {
	t, err := s.resolve(ctx, c, app, entity, id, "", true)
	if err != nil {
		return nil, err
	}
	f := t.flow
	state, _ := t.rec[f.Field].(string)
	state = current(f, state)
	out := &Available{Flow: f.Name, Field: f.Field, State: state, States: f.States, Items: []Option{}}
	if out.States == nil {
		out.States = []schema.State{}
	}
	pool := s.db.Pool()
	if out.Pending, err = s.pendingTx(ctx, pool, app, entity, id); err != nil {
		return nil, err
	}
	for i := range f.Transitions {
		tr := &f.Transitions[i]
		if !tr.Leaves(f, state) || !mayTake(c, tr) {
			continue
		}
		values := map[string]any{f.Field: tr.To}
		check := tr
		if readsFilled(tr) {
			// What the guard reads is filled when the transition is
			// taken: Take decides it then.
			c := *tr
			c.Guard = ""
			check = &c
		}
		lacks, err := s.recordLacks(ctx, pool, t, check, values)
		if err != nil {
			return nil, err
		}
		if out.Pending != nil {
			lacks = append([]Lack{{Path: "/pending", Message: "an approval of this record is pending"}}, lacks...)
		}
		for _, tf := range tr.Fields {
			if tf.Required && blank(t.rec[tf.Field]) {
				lacks = append(lacks, Lack{Path: "/fields/" + tf.Field, Message: tf.Field + " is filled when the transition is taken"})
			}
		}
		if tr.Comment == schema.CommentRequired {
			lacks = append(lacks, Lack{Path: "/comment", Message: "a comment is asked when the transition is taken"})
		}
		fields := tr.Fields
		if fields == nil {
			fields = []schema.TransitionField{}
		}
		out.Items = append(out.Items, Option{Name: tr.Name, Label: tr.Label, Labels: tr.Labels, To: tr.To,
			Allowed: len(lacks) == 0 || onlyAtTake(lacks), Lacks: nonNil(lacks), Fields: fields, Comment: commentMode(tr),
			Approval: tr.Approval != nil, Handover: tr.Handover != nil})
	}
	return out, nil
}

// readsFilled says whether tr's guard reads a field the transition fills.
func readsFilled(tr *schema.Transition) bool {
	if tr.Guard == "" || len(tr.Fields) == 0 {
		return false
	}
	n, err := filter.Parse(tr.Guard)
	if err != nil {
		return false
	}
	found := false
	filter.Fields(n, func(c *filter.Compare) {
		for _, tf := range tr.Fields {
			found = found || c.Field == tf.Field
		}
	})
	return found
}

// onlyAtTake says whether every lack is one the taking itself fills (its
// required fields and comment): the button is enabled and asks for them.
func onlyAtTake(lacks []Lack) bool {
	for _, l := range lacks {
		if !strings.HasPrefix(l.Path, "/fields/") && l.Path != "/comment" {
			return false
		}
	}
	return true
}

func nonNil(l []Lack) []Lack {
	if l == nil {
		return []Lack{}
	}
	return l
}

func commentMode(t *schema.Transition) string {
	if t.Comment == "" {
		return schema.CommentOptional
	}
	return t.Comment
}

// recordLacks returns what the record, with values written over it (the
// API's value form), lacks for tr: its guard and its evidence. The guard's
// comparisons of the written fields are decided over values, the rest
// read inside q.
func (s *Service) recordLacks(ctx context.Context, q store.Conn, t *target, tr *schema.Transition, values map[string]any) ([]Lack, error) {
	var lacks []Lack
	if tr.Guard != "" {
		ok, err := s.guardHolds(ctx, q, t, tr, values)
		if err != nil {
			return nil, err
		}
		if !ok {
			lacks = append(lacks, guardLack(tr))
		}
	}
	merged := make(map[string]any, len(t.rec)+len(values))
	for k, v := range t.rec {
		merged[k] = v
	}
	for k, v := range values {
		merged[k] = v
	}
	ev, err := s.evidenceLacks(ctx, q, t.app, t.flow, tr, merged)
	return append(lacks, ev...), err
}

func (s *Service) guardHolds(ctx context.Context, q store.Conn, t *target, tr *schema.Transition, values map[string]any) (bool, error) {
	n, err := filter.Parse(tr.Guard)
	if err != nil {
		return false, fmt.Errorf("flow %s: guard of %s: %w", t.flow.Name, tr.Name, err) // refused when the app was applied
	}
	if values != nil {
		if n, err = automation.WithValues(n, t.app.Entity(t.flow.Entity), values); err != nil {
			return false, fmt.Errorf("flow %s: guard of %s: %w", t.flow.Name, tr.Name, err)
		}
	}
	return s.records.MatchTx(ctx, q, t.app, t.flow.Entity, t.id, n)
}

func guardLack(tr *schema.Transition) Lack {
	msg := tr.GuardMessage
	if msg == "" {
		msg = "the record does not meet " + tr.Guard
	}
	return Lack{Path: "/guard", Message: msg, Messages: tr.GuardMessages}
}

// evidenceLacks returns the evidence fields rec (API form) leaves empty: a
// null, an empty or blank text, an empty list, false; a file field must
// hold a file of the app that exists.
func (s *Service) evidenceLacks(ctx context.Context, q store.Conn, app *schema.App, f *schema.Flow, tr *schema.Transition, rec map[string]any) ([]Lack, error) {
	var lacks []Lack
	e := app.Entity(f.Entity)
	for _, name := range tr.Evidence {
		v := rec[name]
		if blank(v) {
			lacks = append(lacks, Lack{Path: "/evidence/" + name, Message: name + " must be filled to take this transition"})
			continue
		}
		if fd := e.Field(name); fd != nil && fd.Type == schema.File {
			id, _ := v.(string)
			var one int
			err := q.QueryRowContext(ctx, `SELECT 1 FROM _forma_files WHERE "id" = ? AND "app" = ?`, id, app.Name).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				lacks = append(lacks, Lack{Path: "/evidence/" + name, Message: name + " must hold an uploaded file to take this transition"})
			} else if err != nil {
				return nil, fmt.Errorf("flow: evidence %s: %w", name, err)
			}
		}
	}
	return lacks, nil
}

// blank says whether an evidence value (API form) is empty.
func blank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case bool:
		return !x
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// refused is the 422 of a transition with lacks.
func refused(lacks []Lack) error {
	ps := make(schema.Problems, len(lacks))
	for i, l := range lacks {
		ps[i] = schema.Problem{Path: l.Path, Code: "transition_lack", Message: l.Message, Messages: l.Messages}
	}
	return &records.Error{Status: 422, Code: CodeRefused, Message: "the transition cannot be taken now", Details: ps}
}

// requestValues checks a take's fields and comment against tr: a field
// the transition does not fill is a 422 at its path; missing required
// fields and comment are lacks. It returns the values the move writes
// (the API's value form) and the lacks.
func requestValues(f *schema.Flow, tr *schema.Transition, req TakeRequest) (map[string]any, []Lack, error) {
	var bad schema.Problems
	values := map[string]any{}
	fill := map[string]bool{}
	for _, tf := range tr.Fields {
		fill[tf.Field] = true
	}
	for name, raw := range req.Fields {
		if !fill[name] {
			bad.Add("/fields/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(name), "transition %s does not fill %q", tr.Name, name)
			continue
		}
		m, err := decodeValues(append(append([]byte(`{"v":`), raw...), '}'))
		if err != nil {
			bad.Add("/fields/"+name, "not a JSON value")
			continue
		}
		values[name] = m["v"]
	}
	if len(bad) > 0 {
		return nil, nil, &records.Error{Status: 422, Code: records.CodeInvalid, Message: "the transition's fields are not valid", Details: bad}
	}
	var lacks []Lack
	for _, tf := range tr.Fields {
		if v, ok := values[tf.Field]; tf.Required && (!ok || blank(v)) {
			lacks = append(lacks, Lack{Path: "/fields/" + tf.Field, Message: tf.Field + " is required to take this transition"})
		}
	}
	switch {
	case len(req.Comment) > MaxComment:
		return nil, nil, &records.Error{Status: 422, Code: records.CodeInvalid, Message: "the comment is too long",
			Details: schema.Problems{{Path: "/comment", Code: "max_length", Params: map[string]any{"field": "comment", "limit": MaxComment}, Message: fmt.Sprintf("a comment has at most %d bytes", MaxComment)}}}
	case tr.Comment == schema.CommentRequired && strings.TrimSpace(req.Comment) == "":
		lacks = append(lacks, Lack{Path: "/comment", Message: "a comment is required to take this transition"})
	case tr.Comment == schema.CommentNone && req.Comment != "":
		lacks = append(lacks, Lack{Path: "/comment", Message: "this transition takes no comment"})
	}
	values[f.Field] = tr.To
	return values, lacks, nil
}

// stateLacks returns what the record as it is (locked, API form) lacks for
// tr apart from its guard and evidence: being in a from-state, no pending
// approval (unless pending is false: the pending request completing), and
// the caller's role (unless trusted: the flow decided, as when a request
// completes).
func (s *Service) stateLacks(ctx context.Context, tx store.Conn, c records.Caller, app *schema.App, f *schema.Flow, tr *schema.Transition, rec *records.Record, pending, trusted bool) ([]Lack, error) {
	var lacks []Lack
	state, _ := rec.Get(f.Field).(string)
	if state = current(f, state); !tr.Leaves(f, state) {
		lacks = append(lacks, Lack{Path: "/from", Message: fmt.Sprintf("the record is in state %q, which %s does not leave", state, tr.Name)})
	}
	if pending {
		p, err := s.pendingTx(ctx, tx, app.Name, f.Entity, rec.ID())
		if err != nil {
			return nil, err
		}
		if p != nil {
			lacks = append(lacks, Lack{Path: "/pending", Message: "an approval of this record is pending"})
		}
	}
	if !trusted && !mayTake(c, tr) {
		lacks = append(lacks, Lack{Path: "/roles", Message: fmt.Sprintf("only %s may take %s", strings.Join(tr.Roles, ", "), tr.Name)})
	}
	return lacks, nil
}

// Take takes the transition name on the record: moves it (every lack
// answered at once, 422 transition_refused), or, for a transition with an
// approval or a hand-over, records the request.
func (s *Service) Take(ctx context.Context, c records.Caller, app, entity, id, name string, req TakeRequest) (*Taken, error) {
	t, err := s.resolve(ctx, c, app, entity, id, name, false)
	if err != nil {
		return nil, err
	}
	f, tr := t.flow, t.tr
	values, lacks, err := requestValues(f, tr, req)
	if err != nil {
		return nil, err
	}
	c.Path = records.PathFlow
	if tr.Approval != nil || tr.Handover != nil {
		var view *ApprovalView
		err := s.records.WithRecord(ctx, c, app, entity, id, true, func(ctx context.Context, tx store.Conn, rec *records.Record) error {
			if v := rec.Get("version"); req.Version != 0 && v != req.Version {
				return &records.Error{Status: 409, Code: records.CodeConflict, Message: fmt.Sprintf("the record was changed since you read it (it is now at version %v); reload and try again", v)}
			}
			more, err := s.stateLacks(ctx, tx, c, t.app, f, tr, rec, true, false)
			if err != nil {
				return err
			}
			if t.rec, err = apiForm(rec); err != nil {
				return err
			}
			rl, err := s.recordLacks(ctx, tx, t, tr, values)
			if err != nil {
				return err
			}
			if all := append(append(more, lacks...), rl...); len(all) > 0 {
				return refused(all)
			}
			view, err = s.requestTx(ctx, tx, c, t.app, f, tr, rec, req)
			return err
		})
		if err != nil {
			return nil, err
		}
		if view != nil {
			return &Taken{Approval: view}, nil
		}
		// No step of the approval applies to this record (their
		// conditions): requestTx recorded nothing, and the transition
		// is taken at once.
	}
	rec, err := s.move(ctx, nil, c, t, values, req.Comment, req.Version, lacks, true, false)
	if err != nil {
		return nil, err
	}
	return &Taken{Record: rec}, nil
}

// move writes the transition t.tr with values through records.Move (in a
// transaction of its own) or, given tx, records.MoveTx: under the lock it
// adds the record's lacks (from-state, pending unless completing, role) to
// those already found, and once written checks the guard and evidence on
// the record as written; any lack rolls it back.
func (s *Service) move(ctx context.Context, tx *store.Conn, c records.Caller, t *target, values map[string]any, comment string, version int64, lacks []Lack, pending, trusted bool) (*records.Record, error) {
	f, tr := t.flow, t.tr
	m := records.Move{Transition: f.Name + "/" + tr.Name, Comment: comment, Version: version, Values: values, Trusted: trusted}
	var found []Lack // lacks, with the record's own under its lock
	m.Check = func(ctx context.Context, tx store.Conn, rec *records.Record) error {
		more, err := s.stateLacks(ctx, tx, c, t.app, f, tr, rec, pending, trusted)
		found = append(more, lacks...)
		return err
	}
	m.After = func(ctx context.Context, tx store.Conn, rec *records.Record) error {
		var err error
		if t.rec, err = apiForm(rec); err != nil {
			return err
		}
		rl, err := s.recordLacks(ctx, tx, t, tr, nil)
		if err != nil {
			return err
		}
		if all := append(found, rl...); len(all) > 0 {
			return refused(all)
		}
		return nil
	}
	var rec *records.Record
	var err error
	if tx != nil {
		rec, err = s.records.MoveTx(ctx, *tx, c, t.app.Name, f.Entity, t.id, m)
	} else {
		rec, err = s.records.Move(ctx, c, t.app.Name, f.Entity, t.id, m)
	}
	var re *records.Error
	if errors.As(err, &re) && re.Code == records.CodeInvalid {
		// A value the user filled is refused at its place in the take's
		// body: /fields/<field>.
		for i, d := range re.Details {
			if name := strings.TrimPrefix(d.Path, "/"); name != f.Field && values[name] != nil {
				re.Details[i].Path = "/fields" + d.Path
			}
		}
	}
	return rec, err
}

// complete moves the record as the request asked, inside tx, the
// transaction that records the last decision (so both commit or neither
// does): MoveTx with Trusted, the request's stored fields and comment,
// Values["owner"] = receiver for a hand-over; guard and evidence
// re-checked (a 422 then rolls the decision back with the move: the
// request stays pending, and the approver is answered the lacks).
func (s *Service) complete(ctx context.Context, tx store.Conn, c records.Caller, app, entity, id, transition string, fields map[string]json.RawMessage, comment, newOwner string) (*records.Record, error) {
	doc, err := s.catalog.App(ctx, app)
	if err != nil {
		return nil, err
	}
	f := doc.FlowOf(entity)
	if _, name, ok := strings.Cut(transition, "/"); ok {
		transition = name
	}
	if f == nil || f.Transition(transition) == nil {
		return nil, &records.Error{Status: 404, Code: records.CodeNotFound, Message: fmt.Sprintf("no transition %q governs %s records", transition, entity)}
	}
	t := &target{app: doc, flow: f, tr: f.Transition(transition), id: id}
	values, lacks, err := requestValues(f, t.tr, TakeRequest{Fields: fields, Comment: comment})
	if err != nil {
		return nil, err
	}
	if newOwner != "" {
		values["owner"] = newOwner
	}
	// The request passed the requester's roles; the approver (or the
	// receiver) decides for the flow: a trusted move, the request itself
	// being the pending one.
	c.Path = records.PathFlow
	return s.move(ctx, &tx, c, t, values, comment, 0, lacks, false, true)
}
