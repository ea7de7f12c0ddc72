package schema

import (
	"fmt"
	"strings"
)

// Limits on flows beyond the JSON Schema's.
const (
	MaxFlows         = 100
	MaxApprovalSteps = 10
)

// checkFlows checks what the JSON Schema cannot: the entity and its select
// state field, states that are options of it, transitions between states
// that exist (never out of a final one), roles, evidence and transition
// fields of the entity, approval steps and hand-over receivers, and the
// actions on enter (as automation actions). Guards, step conditions and
// deadlines are compiled by the engine (engine/flow CheckApp).
func (c *checker) checkFlows() {
	a := c.app
	if len(a.Flows) > MaxFlows {
		c.p.Add("/flows", "must have at most %d items", MaxFlows)
	}
	names := map[string]string{}
	governed := map[string]int{} // entity → the flow governing it
	roles := a.EffectiveRoles()
	roleNames := sortedKeys(roles)
	for i := range a.Flows {
		f := &a.Flows[i]
		fp := ptr("flows", i)
		c.uniqueName(fp, "flow", f.Name, names)
		ei, known := c.ents[f.Entity]
		if !known {
			c.p.Add(fp+"/entity", "no entity named %q in this app%s", f.Entity, didYouMean(f.Entity, c.entityNames()))
		} else if j, dup := governed[f.Entity]; dup {
			c.p.Add(fp+"/entity", "entity %q already has a flow (at %s); an entity has at most one", f.Entity, ptr("flows", j))
		} else {
			governed[f.Entity] = i
		}
		var options []string
		stateField := known
		if known {
			sf := c.field(ei, f.Field)
			switch {
			case sf == nil:
				c.p.Add(fp+"/field", "unknown field %q: entity %q has no such field%s", f.Field, f.Entity, didYouMean(f.Field, c.fieldNames(ei)))
				stateField = false // states are checked against the options only once the state field is sound
			case sf.Type != Select:
				c.p.Add(fp+"/field", "%s is a %s field; a flow's state field is a select", f.Field, sf.Type)
				stateField = false
			default:
				options = sf.Options
			}
		}
		c.checkStates(fp, f, options, stateField)
		tnames := map[string]string{}
		for j := range f.Transitions {
			t := &f.Transitions[j]
			tp := fmt.Sprintf("%s/transitions/%d", fp, j)
			c.uniqueName(tp, "transition", t.Name, tnames)
			c.checkTransition(tp, f, t, ei, known, roles, roleNames)
		}
	}
}

// checkStates checks a flow's states: unique, options of the state field
// (when it is known), and the initial one among them.
func (c *checker) checkStates(fp string, f *Flow, options []string, known bool) {
	seen := map[string]int{}
	for j, s := range f.States {
		sp := fmt.Sprintf("%s/states/%d/name", fp, j)
		switch {
		case strings.TrimSpace(s.Name) == "":
			c.p.Add(sp, "a state needs a name (an option of %s)", f.Field)
			continue
		case known && !hasString(options, s.Name):
			c.p.Add(sp, "%q is not an option of %s (options: %s)%s", s.Name, f.Field, strings.Join(options, ", "), didYouMean(s.Name, options))
		}
		if k, dup := seen[s.Name]; dup {
			c.p.Add(sp, "duplicate state %q (also at %s/states/%d)", s.Name, fp, k)
		} else {
			seen[s.Name] = j
		}
	}
	if len(f.States) == 0 {
		c.p.Add(fp+"/states", "a flow needs at least one state")
	}
	if f.Initial != "" && f.State(f.Initial) == nil {
		c.p.Add(fp+"/initial", "no state named %q in this flow%s", f.Initial, didYouMean(f.Initial, stateNames(f)))
	}
	if s := f.State(f.InitialState()); s != nil && s.Final && len(f.States) > 1 {
		c.p.Add(fp+"/initial", "the initial state %q is final: no record could ever leave it", s.Name)
	}
}

func stateNames(f *Flow) []string {
	out := make([]string, len(f.States))
	for i, s := range f.States {
		out[i] = s.Name
	}
	return out
}

// checkTransition checks one transition of flow f; ei is f's entity
// (known says whether it and its state field exist).
func (c *checker) checkTransition(tp string, f *Flow, t *Transition, ei int, known bool, roles map[string]*Role, roleNames []string) {
	states := stateNames(f)
	for k, from := range t.From {
		s := f.State(from)
		switch {
		case s == nil:
			c.p.Add(fmt.Sprintf("%s/from/%d", tp, k), "no state named %q in this flow%s", from, didYouMean(from, states))
		case s.Final:
			c.p.Add(fmt.Sprintf("%s/from/%d", tp, k), "%q is a final state: no transition leaves it", from)
		}
	}
	if f.State(t.To) == nil {
		c.p.Add(tp+"/to", "no state named %q in this flow%s", t.To, didYouMean(t.To, states))
	}
	for k, r := range t.Roles {
		if roles[r] == nil {
			c.p.Add(fmt.Sprintf("%s/roles/%d", tp, k), "no role named %q in this app%s", r, didYouMean(r, roleNames))
		}
	}
	switch t.Comment {
	case "", CommentNone, CommentOptional, CommentRequired:
	default:
		c.p.Add(tp+"/comment", "comment is %q, %q or %q, not %q", CommentNone, CommentOptional, CommentRequired, t.Comment)
	}
	blankTexts(&c.p, tp+"/guardMessages", t.GuardMessages)
	if t.Approval != nil && t.Handover != nil {
		c.p.Add(tp+"/handover", "a transition asks for either an approval or a hand-over, not both")
	}
	if len(t.Actions) > MaxActions {
		c.p.Add(tp+"/actions", "must have at most %d items", MaxActions)
	}
	for k := range t.Actions {
		c.checkAction(fmt.Sprintf("%s/actions/%d", tp, k), ei, known, &t.Actions[k], roles, roleNames)
	}
	if t.Approval != nil {
		c.checkApproval(tp+"/approval", t.Approval, ei, known, roles, roleNames)
	}
	if !known {
		return
	}
	e := &c.app.Entities[ei]
	for k, name := range t.Evidence {
		if c.field(ei, name) == nil && name != "owner" {
			c.p.Add(fmt.Sprintf("%s/evidence/%d", tp, k), "unknown field %q: entity %q has no such field%s", name, e.Name, didYouMean(name, c.fieldNames(ei)))
		}
	}
	seen := map[string]int{}
	for k, tf := range t.Fields {
		p := fmt.Sprintf("%s/fields/%d/field", tp, k)
		fd := c.field(ei, tf.Field)
		switch {
		case fd == nil && tf.Field == "owner":
		case fd == nil:
			c.p.Add(p, "unknown field %q: entity %q has no such field%s", tf.Field, e.Name, didYouMean(tf.Field, c.fieldNames(ei)))
		case fd.Type.Computed():
			c.p.Add(p, "%s is a computed %s field and cannot be filled", tf.Field, fd.Type)
		case tf.Field == f.Field:
			c.p.Add(p, "%s is the flow's state field: the transition sets it", tf.Field)
		}
		if j, dup := seen[tf.Field]; dup {
			c.p.Add(p, "%s is already listed at %s/fields/%d", tf.Field, tp, j)
		} else {
			seen[tf.Field] = k
		}
	}
	if t.Handover != nil {
		rp := tp + "/handover/receiver"
		switch fd := c.field(ei, t.Handover.Receiver); {
		case fd == nil:
			c.p.Add(rp, "unknown field %q: entity %q has no such field%s", t.Handover.Receiver, e.Name, didYouMean(t.Handover.Receiver, c.fieldNames(ei)))
		case fd.Type != User:
			c.p.Add(rp, "%s is a %s field; the receiver is named by a user field", t.Handover.Receiver, fd.Type)
		}
	}
}

// checkApproval checks an approval's steps: names, who approves, the mode
// and quorum, and escalation (the engine parses deadlines and conditions).
func (c *checker) checkApproval(ap string, a *Approval, ei int, known bool, roles map[string]*Role, roleNames []string) {
	if len(a.Steps) == 0 {
		c.p.Add(ap+"/steps", "an approval needs at least one step")
	}
	if len(a.Steps) > MaxApprovalSteps {
		c.p.Add(ap+"/steps", "must have at most %d items", MaxApprovalSteps)
	}
	seen := map[string]string{}
	for i := range a.Steps {
		st := &a.Steps[i]
		sp := fmt.Sprintf("%s/steps/%d", ap, i)
		c.uniqueName(sp, "step", st.Name, seen)
		who := &st.Approvers
		if !who.Manager && len(who.Roles) == 0 && len(who.Fields) == 0 && len(who.Users) == 0 {
			c.p.Add(sp+"/approvers", "a step needs approvers: roles, fields, manager or users")
		}
		for k, r := range who.Roles {
			if roles[r] == nil {
				c.p.Add(fmt.Sprintf("%s/approvers/roles/%d", sp, k), "no role named %q in this app%s", r, didYouMean(r, roleNames))
			}
		}
		for k, name := range who.Fields {
			if !known {
				break
			}
			fd := c.field(ei, name)
			switch {
			case fd == nil && name == "owner":
			case fd == nil:
				c.p.Add(fmt.Sprintf("%s/approvers/fields/%d", sp, k), "unknown field %q: entity %q has no such field%s", name, c.app.Entities[ei].Name, didYouMean(name, c.fieldNames(ei)))
			case fd.Type != User:
				c.p.Add(fmt.Sprintf("%s/approvers/fields/%d", sp, k), "%s is a %s field; approvers come from user fields", name, fd.Type)
			}
		}
		switch st.Mode {
		case "", ApproveAny, ApproveAll:
			if st.Quorum != 0 {
				c.p.Add(sp+"/quorum", "a quorum needs mode %q", ApproveQuorum)
			}
		case ApproveQuorum:
			// Only named users and fields can be counted here; roles and the
			// manager are counted when the step starts.
			fixed := len(who.Users) + len(who.Fields)
			switch {
			case st.Quorum < 1:
				c.p.Add(sp+"/quorum", "a quorum step needs quorum: how many approvals, 1 or more")
			case len(who.Roles) == 0 && !who.Manager && st.Quorum > fixed:
				c.p.Add(sp+"/quorum", "quorum %d is more than the %d approvers named", st.Quorum, fixed)
			}
		default:
			c.p.Add(sp+"/mode", "mode is %q, %q or %q, not %q", ApproveAny, ApproveAll, ApproveQuorum, st.Mode)
		}
		if st.Escalate != nil {
			switch st.Escalate.Then {
			case EscalateNotify, EscalateNext, EscalateReject:
			default:
				c.p.Add(sp+"/escalate/then", "then is %q, %q or %q, not %q", EscalateNotify, EscalateNext, EscalateReject, st.Escalate.Then)
			}
			if st.Deadline == "" {
				c.p.Add(sp+"/escalate", "an escalation needs the step's deadline")
			}
			if n := st.Escalate.Notify; n != nil {
				for k, r := range n.Roles {
					if roles[r] == nil {
						c.p.Add(fmt.Sprintf("%s/escalate/notify/roles/%d", sp, k), "no role named %q in this app%s", r, didYouMean(r, roleNames))
					}
				}
				for k, name := range n.Fields {
					if !known {
						break
					}
					if fd := c.field(ei, name); fd == nil && name != "owner" || fd != nil && fd.Type != User {
						c.p.Add(fmt.Sprintf("%s/escalate/notify/fields/%d", sp, k), "%q is not a user field of entity %q", name, c.app.Entities[ei].Name)
					}
				}
			}
		}
	}
}

// uniqueName checks the name of the kind of thing at p (reported at
// p/name): given, a valid name, and not already in seen (name → where it
// first stood), where it is added.
func (c *checker) uniqueName(p, kind, name string, seen map[string]string) {
	switch {
	case name == "":
		c.p.Add(p+"/name", "missing required field %q", "name")
	case !ValidName(name):
		c.p.Add(p+"/name", "%s name %q must match [a-z][a-z0-9_]{0,62}", kind, name)
	default:
		if at, dup := seen[name]; dup {
			c.p.Add(p+"/name", "duplicate %s name %q (also at %s)", kind, name, at)
		} else {
			seen[name] = p
		}
	}
}
