package automation

import (
	"sync"

	"github.com/formaapp/forma/schema"
)

// runnable caches, per app, the automations the engine runs for its
// current document: its own and those derived from its assignment rules'
// countdowns (schema.App.RunnableAutomations). Every place that runs
// automations reads them through automationsOf or automationNamed; the
// automations editor's routes read the document's own.
var runnable sync.Map // app name → *runnableList

type runnableList struct {
	doc  *schema.App
	list []schema.Automation
}

// automationsOf returns the automations the engine runs for doc.
func automationsOf(doc *schema.App) []schema.Automation {
	if len(doc.Assignments) == 0 {
		return doc.Automations
	}
	if v, ok := runnable.Load(doc.Name); ok && v.(*runnableList).doc == doc {
		return v.(*runnableList).list
	}
	l := &runnableList{doc: doc, list: doc.RunnableAutomations()}
	runnable.Store(doc.Name, l)
	return l.list
}

// automationNamed returns the automation doc runs under name, or nil.
func automationNamed(doc *schema.App, name string) *schema.Automation {
	list := automationsOf(doc)
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}
