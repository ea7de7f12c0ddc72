package schema

import "encoding/json"

// Automation is a rule an ops manager writes: when Trigger happens to a
// record of Entity and Condition holds for it, run Actions in order (each
// only if the one before succeeded) — or, with Variants, the actions of the
// variant the record is assigned to. The engine (engine/automation) runs
// every action as a durable job.
type Automation struct {
	Name   string `json:"name"`
	Label  string `json:"label,omitempty"`
	Labels Labels `json:"labels,omitempty"`
	// Enabled is true when absent: a rule is written to run.
	Enabled *bool  `json:"enabled,omitempty"`
	Entity  string `json:"entity"`
	// Role is the app role the automation reads the record as (its
	// "owner role"): webhook bodies, message templates and expressions see
	// only the fields that role may read. Empty means the whole record.
	Role    string  `json:"role,omitempty"`
	Trigger Trigger `json:"trigger"`
	// Condition is a filter (the filter language) the record must meet.
	// Fields are the record's own; previous.FIELD is the value before an
	// update (null on create).
	Condition string `json:"condition,omitempty"`
	// Actions run in order; a failed action stops the ones after it.
	Actions []Action `json:"actions,omitempty"`
	// Variants replace Actions for an A/B test: each record gets one
	// variant, by weight, deterministically from its id and the
	// automation's name.
	Variants []Variant `json:"variants,omitempty"`
}

// IsEnabled says whether the automation runs.
func (a *Automation) IsEnabled() bool { return a.Enabled == nil || *a.Enabled }

// Trigger types.
const (
	TriggerCreated      = "created"
	TriggerUpdated      = "updated"
	TriggerFieldChanged = "fieldChanged"
	TriggerDeleted      = "deleted"
	TriggerTransition   = "transition"
	TriggerSchedule     = "schedule"
	TriggerTimer        = "timer"
)

// Trigger says when an automation runs for a record.
//
//   - created, updated, deleted: a record of the entity was written so.
//   - fieldChanged: Field changed on create or update, optionally From a
//     value and/or To a value (JSON values in the API's form; null is
//     "empty").
//   - transition: a flow's transition was taken (Flow, optional
//     Transition; any transition of the flow when empty).
//   - schedule: at every time Cron (five fields) names in TimeZone
//     (default UTC), for each record Filter selects (all when empty).
//   - timer: Offset after the record's date or datetime Field
//     ("4h", "72h", "3d", "1d12h", "-30m"); rescheduled when the field
//     changes, cancelled when Unless (a filter) holds before it fires.
type Trigger struct {
	Type       string          `json:"type"`
	Field      string          `json:"field,omitempty"`
	From       json.RawMessage `json:"from,omitempty"`
	To         json.RawMessage `json:"to,omitempty"`
	Flow       string          `json:"flow,omitempty"`
	Transition string          `json:"transition,omitempty"`
	Cron       string          `json:"cron,omitempty"`
	TimeZone   string          `json:"timeZone,omitempty"`
	Filter     string          `json:"filter,omitempty"`
	Offset     string          `json:"offset,omitempty"`
	Unless     string          `json:"unless,omitempty"`
}

// Action types.
const (
	ActionSet     = "set"
	ActionCreate  = "create"
	ActionNotify  = "notify"
	ActionWebhook = "webhook"
	ActionScript  = "script"
	ActionAssign  = "assign"
	ActionPlugin  = "plugin"
)

// Action is one step of an automation.
//
//   - set: Fields on the triggering record.
//   - create: a record of Entity with Fields (a ref to the triggering
//     record is written as {"expr": "id"}).
//   - notify: the users To names get Message, a template where
//     {{field}} is the record's value of field (as the automation's role
//     reads it).
//   - webhook: POST the event and the record to URL.
//   - script: call Function ("script#function", as hooks name it) with the
//     record; an object it returns is written to the record like set.
//   - assign: assign the record by the assignment rule Rule (of the same
//     entity); with Reassign, to someone other than its current owner.
//
// A value in Fields is a JSON value as the API takes it, {"expr": "…"} (a
// formula-language expression over the triggering record) or
// {"template": "…"} (text with {{field}} placeholders).
type Action struct {
	Type    string                     `json:"type"`
	Entity  string                     `json:"entity,omitempty"`
	Fields  map[string]json.RawMessage `json:"fields,omitempty"`
	To      *Recipients                `json:"to,omitempty"`
	Message string                     `json:"message,omitempty"`
	// Messages is Message per language (notify); each variant is a
	// template like Message, which is the fallback.
	Messages Labels `json:"messages,omitempty"`
	URL      string `json:"url,omitempty"`
	Function string `json:"function,omitempty"`
	Rule     string `json:"rule,omitempty"`
	Reassign bool   `json:"reassign,omitempty"`
	// Plugin and PluginAction name a plugin's action (type "plugin");
	// Input is its input object, each value computed like Fields (a
	// literal, a "{{field}}" template, or {"expr": …}).
	Plugin       string                     `json:"plugin,omitempty"`
	PluginAction string                     `json:"action,omitempty"`
	Input        map[string]json.RawMessage `json:"input,omitempty"`
}

// Recipients name who a notify action reaches; the union of all given.
type Recipients struct {
	Owner   bool     `json:"owner,omitempty"`   // the record's owner
	Manager bool     `json:"manager,omitempty"` // the manager of the owner's team
	Roles   []string `json:"roles,omitempty"`   // every active user holding one of these app roles
	Fields  []string `json:"fields,omitempty"`  // user fields of the record
	Users   []string `json:"users,omitempty"`   // user ids or emails
}

// Variant is one arm of an A/B test: its share of records is
// Weight / (sum of weights).
type Variant struct {
	Name    string   `json:"name"`
	Weight  int      `json:"weight"`
	Actions []Action `json:"actions"`
}

// Automation returns the automation named name, or nil.
func (a *App) Automation(name string) *Automation {
	for i := range a.Automations {
		if a.Automations[i].Name == name {
			return &a.Automations[i]
		}
	}
	return nil
}
