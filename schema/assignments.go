package schema

// Assignment is a lead-distribution rule: which users may receive a record
// of Entity, how one of them is chosen, what happens when none can take
// it, an optional claim pool, the first-contact countdown with its
// escalation steps, and A/B variants of the rule itself. The engine
// (engine/assign) runs it; automations call it with the "assign" action.
type Assignment struct {
	Name   string `json:"name"`
	Label  string `json:"label,omitempty"`
	Labels Labels `json:"labels,omitempty"`
	Entity string `json:"entity"`
	// Field is the user field of Entity that receives the winner; the
	// record's owner when empty.
	Field      string     `json:"field,omitempty"`
	Candidates Candidates `json:"candidates"`
	// Strategy picks among the eligible candidates: StrategyRoundRobin,
	// StrategyLeastLoad or StrategyScore.
	Strategy string `json:"strategy"`
	// Open is a filter over Entity: the records that count as a
	// candidate's open load (every record the candidate owns when empty).
	Open string `json:"open,omitempty"`
	// Capacity: a candidate who already has this many open records gets
	// nothing more (0: no limit).
	Capacity int `json:"capacity,omitempty"`
	// Score is the score strategy's expression, in the formula language,
	// over the names of Statistics; the highest score wins and ties go
	// round-robin.
	Score      string        `json:"score,omitempty"`
	Statistics []Statistic   `json:"statistics,omitempty"`
	Hours      *WorkingHours `json:"workingHours,omitempty"`
	// Fallbacks are tried in order when no candidate is eligible, each
	// with the rule's strategy; when none yields anyone the record stays
	// unassigned (or goes to the pool).
	Fallbacks []Candidates `json:"fallbacks,omitempty"`
	// Reassigners are the app roles whose holders may reassign a record
	// by hand (POST …/{id}/assign); admins and the manager of the current
	// owner's team always may.
	Reassigners []string            `json:"reassigners,omitempty"`
	Pool        *Pool               `json:"pool,omitempty"`
	Countdown   *Countdown          `json:"countdown,omitempty"`
	Variants    []AssignmentVariant `json:"variants,omitempty"`
}

// Assignment strategies.
const (
	StrategyRoundRobin = "roundRobin"
	StrategyLeastLoad  = "leastLoad"
	StrategyScore      = "score"
)

// Candidates name who may receive a record: the users holding one of
// Roles, in one of Teams (or a team under it), or named in Users — the
// union of those given (every active user of the app when all are empty)
// — of whom only those Condition holds for.
type Candidates struct {
	Roles []string `json:"roles,omitempty"`
	Teams []string `json:"teams,omitempty"` // team names
	Users []string `json:"users,omitempty"` // user ids or emails
	// Condition is a filter over the user: name, email, team (its name),
	// region, skills (skills ~ "retail": one of the skills is retail)
	// and roles (roles ~ "rep").
	Condition string `json:"condition,omitempty"`
}

// Statistic kinds.
const (
	StatOpenLoad       = "openLoad"       // the candidate's open records (Open)
	StatWinRate        = "winRate"        // won ÷ closed over Days, optionally where By matches the record's
	StatMedianResponse = "medianResponse" // median hours from From to To over Days
	StatFieldMatch     = "fieldMatch"     // 1 when the record's Field equals the user's Attribute (region), else 0
	StatSkillsMatch    = "skillsMatch"    // 1 when the record's Field is one of the user's skills, else 0
)

// Statistic is a figure about a candidate that a score expression reads
// by Name.
type Statistic struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// winRate: the entity whose outcomes count (the rule's entity when
	// empty), the filters a won and a decided (won or lost) record meet,
	// and By, a field of the rule's entity whose value the outcome's
	// ByField (By when empty) must equal ("the lead's industry").
	Entity  string `json:"entity,omitempty"`
	Won     string `json:"won,omitempty"`
	Closed  string `json:"closed,omitempty"`
	By      string `json:"by,omitempty"`
	ByField string `json:"byField,omitempty"`
	// Date is the date or datetime field the window of Days reads
	// (updated_at for winRate, From for medianResponse when empty).
	Date string `json:"date,omitempty"`
	Days int    `json:"days,omitempty"` // the window: the last Days days (default 90)
	// medianResponse: datetime fields of the rule's entity (From
	// created_at when empty).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// fieldMatch, skillsMatch: the record's field, and the user's
	// attribute it is compared with (fieldMatch: "region").
	Field     string `json:"field,omitempty"`
	Attribute string `json:"attribute,omitempty"`
	// Default is the value when there is nothing to compute from (no
	// decided outcome, no response yet); 0 when absent.
	Default *float64 `json:"default,omitempty"`
}

// WorkingHours are when candidates receive records: on Days (1 Monday …
// 7 Sunday; Monday to Friday when empty) from From to To ("09:00",
// "18:00") in TimeZone (UTC when empty).
type WorkingHours struct {
	TimeZone string `json:"timeZone,omitempty"`
	Days     []int  `json:"days,omitempty"`
	From     string `json:"from"`
	To       string `json:"to"`
}

// Pool makes the rule put records in a claim pool instead of assigning
// them: the Eligible users (the rule's candidates when nil) see the pool
// and claim records from it, at most DailyLimit a day each (0: no limit;
// the day in TimeZone, UTC when empty); a record still unclaimed after
// Deadline ("2h") goes to the rule's strategy.
type Pool struct {
	Name       string      `json:"name"`
	Eligible   *Candidates `json:"eligible,omitempty"`
	DailyLimit int         `json:"dailyLimit,omitempty"`
	Deadline   string      `json:"deadline,omitempty"`
	TimeZone   string      `json:"timeZone,omitempty"`
}

// Countdown is the "golden hours" of a record: the time from Start (a
// datetime field; created_at when empty) until Until (the datetime field
// of first contact) is set, shown counting down from Within ("4h"), with
// escalation Steps each cancelled the moment Until is set.
type Countdown struct {
	Start  string          `json:"start,omitempty"`
	Until  string          `json:"until"`
	Within string          `json:"within"`
	Steps  []CountdownStep `json:"steps,omitempty"`
}

// Countdown step actions.
const (
	StepRemind        = "remind"        // notify the record's owner
	StepNotifyManager = "notifyManager" // notify the manager of the owner's team
	StepReassign      = "reassign"      // assign by the rule to someone other than the owner
)

// CountdownStep is one escalation: After ("4h", from Start) do Do, with
// Message (a template, {{field}} as in notify actions) for notifications.
type CountdownStep struct {
	After   string `json:"after"`
	Do      string `json:"do"`
	Message string `json:"message,omitempty"`
	// Messages is Message per language; Message (then the built-in
	// reminder) is the fallback.
	Messages Labels `json:"messages,omitempty"`
}

// AssignmentVariant is one arm of an A/B test of the rule: its share of
// records is Weight / (sum of weights); it replaces the rule's Strategy
// and, for the score strategy, its Score.
type AssignmentVariant struct {
	Name     string `json:"name"`
	Weight   int    `json:"weight"`
	Strategy string `json:"strategy"`
	Score    string `json:"score,omitempty"`
}

// Assignment returns the assignment rule named name, or nil.
func (a *App) Assignment(name string) *Assignment {
	for i := range a.Assignments {
		if a.Assignments[i].Name == name {
			return &a.Assignments[i]
		}
	}
	return nil
}

// UserField is the field that receives the winner: Field, or "owner".
func (r *Assignment) UserField() string {
	if r.Field == "" {
		return "owner"
	}
	return r.Field
}
