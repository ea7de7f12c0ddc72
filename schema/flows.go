package schema

// Flow is a state machine over one entity: the select field Field holds the
// record's state, and only the flow's transitions move it (a PATCH of the
// field is refused once a flow governs it). The engine (engine/flow) takes
// transitions, runs their approvals and hand-overs, and writes every move
// through the records service with path "flow".
type Flow struct {
	Name   string `json:"name"`
	Label  string `json:"label,omitempty"`
	Labels Labels `json:"labels,omitempty"`
	Entity string `json:"entity"`
	// Field is the entity's select field holding the state; its options
	// are the flow's states (every state must be an option).
	Field string `json:"field"`
	// Initial is the state a created record starts in; the first state
	// when empty. A create may not choose another.
	Initial     string       `json:"initial,omitempty"`
	States      []State      `json:"states"`
	Transitions []Transition `json:"transitions"`
}

// State is one stage of a flow.
type State struct {
	Name   string `json:"name"` // the select option's value
	Label  string `json:"label,omitempty"`
	Labels Labels `json:"labels,omitempty"`
	// Color is a CSS colour ("#2f855a") for the stage bar and the designer.
	Color string `json:"color,omitempty"`
	// Final states end the flow: no transition leaves them.
	Final bool `json:"final,omitempty"`
	// Position is where the designer draws the state (ignored by the engine).
	Position *Position `json:"position,omitempty"`
}

// Position is a designer's canvas coordinate.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Comment requirements of a transition.
const (
	CommentNone     = "none"     // no comment asked
	CommentOptional = "optional" // the default
	CommentRequired = "required" // e.g. why a deal is lost
)

// Transition moves a record From one of several states To another.
//
// A caller may take it when: the record is in one of From (any non-final
// state when From is empty), no approval of the record is pending, the
// caller holds one of Roles (any role that may update the record when
// empty) and may update the record, Guard (a filter over the record as it
// would be after Fields are written) holds, every Evidence field is filled
// (a file field holds a file), and every required field of Fields and the
// comment (Comment "required") is given.
//
// With Approval, taking it asks for approval: the record stays where it is,
// marked pending, until the steps decide; approval moves it. With Handover,
// the receiving user named by the record's user field Handover.Receiver
// must accept before the move happens, and ownership passes to them.
// Actions (the automation actions) run once the record has entered To.
type Transition struct {
	Name   string   `json:"name"`
	Label  string   `json:"label,omitempty"`
	Labels Labels   `json:"labels,omitempty"`
	From   []string `json:"from,omitempty"`
	To     string   `json:"to"`
	Roles  []string `json:"roles,omitempty"`
	Guard  string   `json:"guard,omitempty"`
	// GuardMessage is shown when the guard does not hold ("the discount
	// must be under 40%"); the guard's text when empty.
	GuardMessage string `json:"guardMessage,omitempty"`
	// GuardMessages is GuardMessage per language; GuardMessage (then the
	// guard's text) is the fallback.
	GuardMessages Labels            `json:"guardMessages,omitempty"`
	Evidence      []string          `json:"evidence,omitempty"`
	Fields        []TransitionField `json:"fields,omitempty"`
	Comment       string            `json:"comment,omitempty"` // none, optional (default), required
	Actions       []Action          `json:"actions,omitempty"`
	Approval      *Approval         `json:"approval,omitempty"`
	Handover      *Handover         `json:"handover,omitempty"`
}

// TransitionField is a field of the record the user fills while taking
// the transition (a lost reason, a hand-over note); it is written with the
// move.
type TransitionField struct {
	Field    string `json:"field"`
	Required bool   `json:"required,omitempty"`
}

// Approval is the steps a transition waits on, in order. A step whose
// Condition does not hold for the record is skipped.
type Approval struct {
	Steps []ApprovalStep `json:"steps"`
}

// Approval step modes.
const (
	ApproveAny    = "any"    // one approval decides (the default)
	ApproveAll    = "all"    // every approver must approve
	ApproveQuorum = "quorum" // Quorum approvals out of the approvers
)

// Escalation outcomes.
const (
	EscalateNotify = "notify" // notify Notify (default: the approvers' managers) and keep waiting
	EscalateNext   = "next"   // hand the step to the next level: the manager above, or the next step
	EscalateReject = "reject" // reject automatically
)

// ApprovalStep is one level of an approval.
type ApprovalStep struct {
	Name   string `json:"name"`
	Label  string `json:"label,omitempty"`
	Labels Labels `json:"labels,omitempty"`
	// Approvers is who decides: the union of users of Roles, users in the
	// record's user Fields, the manager of the owner's team (Manager:
	// walking up nested teams past a manager who is the owner), and Users.
	// The requester never approves their own request.
	Approvers Approvers `json:"approvers"`
	Mode      string    `json:"mode,omitempty"` // any (default), all, quorum
	Quorum    int       `json:"quorum,omitempty"`
	// Condition (a filter over the record) makes the step apply only when
	// it holds: "discount > 20" adds a director step.
	Condition string `json:"condition,omitempty"`
	// Deadline ("24h", "1d", "1d12h") after which the step escalates.
	Deadline string      `json:"deadline,omitempty"`
	Escalate *Escalation `json:"escalate,omitempty"`
}

// Approvers name who may decide a step.
type Approvers struct {
	Roles   []string `json:"roles,omitempty"`
	Fields  []string `json:"fields,omitempty"`
	Manager bool     `json:"manager,omitempty"`
	Users   []string `json:"users,omitempty"` // user ids or emails
}

// Escalation is what happens when a step outlives its deadline.
type Escalation struct {
	Then   string      `json:"then"` // notify, next, reject
	Notify *Recipients `json:"notify,omitempty"`
}

// Handover makes a transition a two-signature hand-over: the giver fills
// the transition's Fields (core needs, current blocker, suggested
// approach) and names the receiver in the record's user field Receiver;
// the move and the change of owner happen only when the receiver accepts.
type Handover struct {
	Receiver string `json:"receiver"`
}

// Flow returns the flow named name, or nil.
func (a *App) Flow(name string) *Flow {
	for i := range a.Flows {
		if a.Flows[i].Name == name {
			return &a.Flows[i]
		}
	}
	return nil
}

// FlowOf returns the flow governing entity, or nil (an entity has at most
// one flow).
func (a *App) FlowOf(entity string) *Flow {
	for i := range a.Flows {
		if a.Flows[i].Entity == entity {
			return &a.Flows[i]
		}
	}
	return nil
}

// State returns the flow's state named name, or nil.
func (f *Flow) State(name string) *State {
	for i := range f.States {
		if f.States[i].Name == name {
			return &f.States[i]
		}
	}
	return nil
}

// Transition returns the flow's transition named name, or nil.
func (f *Flow) Transition(name string) *Transition {
	for i := range f.Transitions {
		if f.Transitions[i].Name == name {
			return &f.Transitions[i]
		}
	}
	return nil
}

// InitialState is the state a created record starts in.
func (f *Flow) InitialState() string {
	if f.Initial != "" || len(f.States) == 0 {
		return f.Initial
	}
	return f.States[0].Name
}

// Leaves says whether t may be taken from state.
func (t *Transition) Leaves(f *Flow, state string) bool {
	if len(t.From) == 0 {
		s := f.State(state)
		return s != nil && !s.Final
	}
	for _, s := range t.From {
		if s == state {
			return true
		}
	}
	return false
}
