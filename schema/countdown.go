package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// The golden-hours countdown of an assignment rule runs as timer
// automations derived from the rule, one per step: "@<rule>/<i>" on the
// rule's entity, firing Steps[i].After past Countdown.Start (created_at
// when empty) unless Countdown.Until is set — so each step is cancelled
// the moment first contact is recorded. They are declared metadata: the
// app document holds only the rule; the automations editor never lists
// them, the run log shows them by name.

// CountdownPrefix starts the name of an automation derived from a rule's
// countdown.
const CountdownPrefix = "@"

// CountdownName is the name of step i of rule's countdown: "@rule/i",
// or, when that is longer than the run log's column (63), "@h" and a
// hash of the rule's name in place of it.
func CountdownName(rule string, i int) string {
	name := CountdownPrefix + rule + "/" + strconv.Itoa(i)
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(rule))
	return CountdownPrefix + "h" + hex.EncodeToString(sum[:16]) + "/" + strconv.Itoa(i)
}

// IsCountdownName says whether name has the form of a countdown step's
// automation ("@rule/i").
func IsCountdownName(name string) bool {
	rest, ok := strings.CutPrefix(name, CountdownPrefix)
	if !ok {
		return false
	}
	rule, idx, ok := strings.Cut(rest, "/")
	if !ok || !ValidName(rule) || idx == "" || len(idx) > 3 {
		return false
	}
	_, err := strconv.Atoi(idx)
	return err == nil && strings.TrimLeft(idx, "0123456789") == ""
}

// CountdownAutomations are the timer automations of the rule's countdown
// steps (none without a countdown).
func (r *Assignment) CountdownAutomations() []Automation {
	cd := r.Countdown
	if cd == nil || cd.Until == "" {
		return nil
	}
	start := cd.Start
	if start == "" {
		start = "created_at"
	}
	out := make([]Automation, 0, len(cd.Steps))
	for i, st := range cd.Steps {
		a := Automation{Name: CountdownName(r.Name, i), Entity: r.Entity,
			Label:   fmt.Sprintf("%s: %s after %s", r.Name, st.Do, st.After),
			Trigger: Trigger{Type: TriggerTimer, Field: start, Offset: st.After, Unless: cd.Until + " != null"}}
		msg, msgs := st.Message, st.Messages
		if msg == "" {
			// The built-in reminder, in both UI languages; both at once
			// for a reader of any other language.
			en := fmt.Sprintf("Golden hours: this %s has had no first contact %s after it arrived.", r.Entity, st.After)
			zh := fmt.Sprintf("黄金时间：此%s到达 %s 后仍未首次联系。", r.Entity, st.After)
			msg = en + " " + zh
			msgs = Labels{"en": en, "zh-CN": zh}
			for lang, v := range st.Messages {
				msgs[lang] = v
			}
		}
		switch st.Do {
		case StepRemind:
			a.Actions = []Action{{Type: ActionNotify, To: &Recipients{Owner: true}, Message: msg, Messages: msgs}}
		case StepNotifyManager:
			a.Actions = []Action{{Type: ActionNotify, To: &Recipients{Manager: true}, Message: msg, Messages: msgs}}
		case StepReassign:
			a.Actions = []Action{{Type: ActionAssign, Rule: r.Name, Reassign: true}}
		default:
			continue // refused when the app is applied
		}
		out = append(out, a)
	}
	return out
}

// RunnableAutomations are the automations the engine runs for the app:
// its own, then those derived from its assignment rules' countdowns.
// Without countdowns it is the document's own slice.
func (a *App) RunnableAutomations() []Automation {
	var derived []Automation
	for i := range a.Assignments {
		derived = append(derived, a.Assignments[i].CountdownAutomations()...)
	}
	if len(derived) == 0 {
		return a.Automations
	}
	return append(append(make([]Automation, 0, len(a.Automations)+len(derived)), a.Automations...), derived...)
}
