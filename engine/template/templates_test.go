package template

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

// Every template assembles into an app document that schema.Parse takes
// without a problem (the engine's own checks run in its install tests), and
// has a picture for the gallery.
func TestTemplatesParse(t *testing.T) {
	eachTemplate(t, func(t *testing.T, name string, info *Info, doc []byte) {
		if problem := pictureProblem(templates.FS(), name, info); problem != "" {
			t.Error(problem)
		}
		app, problems := schema.Parse(doc)
		if len(problems) > 0 {
			for _, p := range problems {
				t.Errorf("%s: %s", p.Path, p.Message)
			}
			t.FailNow()
		}
		if app.Name != info.App {
			t.Fatalf("app %q, template.json says %q", app.Name, info.App)
		}
	})
}

// Every dashboard of a built-in template names itself, its parameters,
// widgets, measures and dimensions in zh-CN and en (labels, titles) rather
// than as one "中文 / English" string, and an installed app's export
// (Export, written out and read back) keeps those maps.
func TestTemplateDashboardLabels(t *testing.T) {
	eachTemplate(t, func(t *testing.T, name string, info *Info, doc []byte) {
		app, problems := schema.Parse(doc)
		if len(problems) > 0 || len(app.Dashboards) == 0 {
			t.Fatalf("%d dashboards, problems %v", len(app.Dashboards), problems)
		}
		both := func(what, fallback string, ls schema.Labels, required bool) {
			t.Helper()
			if fallback == "" && ls == nil && !required {
				return
			}
			if strings.Contains(fallback, " / ") || ls["zh-CN"] == "" || ls["en"] == "" || fallback != ls["zh-CN"] {
				t.Errorf("%s: %q %v, want the zh-CN words and labels in zh-CN and en", what, fallback, ls)
			}
		}
		for _, d := range app.Dashboards {
			both(d.Name, d.Label, d.Labels, true)
			for _, p := range d.Params {
				both(d.Name+"/"+p.Name, p.Label, p.Labels, false)
			}
			for _, w := range d.Widgets {
				both(d.Name+"/"+w.ID, w.Title, w.Titles, true)
				for _, m := range w.Query.Measures {
					both(d.Name+"/"+w.ID+"/"+m.Name, m.Label, m.Labels, false)
				}
				for _, dm := range w.Query.Dimensions {
					both(d.Name+"/"+w.ID+"/"+dm.Key(), dm.Label, dm.Labels, false)
				}
			}
		}

		info2, out, err := Export(app)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := Write(dir, info2, out); err != nil {
			t.Fatal(err)
		}
		back, err := Document(os.DirFS(dir), ".")
		if err != nil {
			t.Fatal(err)
		}
		again, problems := schema.Parse(back)
		if len(problems) > 0 {
			t.Fatalf("exported: %v", problems)
		}
		if !reflect.DeepEqual(again.Dashboards, app.Dashboards) {
			t.Errorf("the export changed the dashboards:\n%+v\n----\n%+v", again.Dashboards, app.Dashboards)
		}
	})
}

// Every text of a built-in template that a user reads — form section
// titles, validation messages, guard messages, notify messages (of
// automations and of transitions) and countdown step messages — is the
// zh-CN words with its variants in zh-CN and en, rather than one
// "中文 / English" string; a notify message's variants keep the same
// {{field}} placeholders.
func TestTemplateTexts(t *testing.T) {
	placeholders := func(s string) []string {
		var out []string
		for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return out
	}
	eachTemplate(t, func(t *testing.T, name string, info *Info, doc []byte) {
		app, problems := schema.Parse(doc)
		if len(problems) > 0 {
			t.Fatalf("problems %v", problems)
		}
		n := 0
		both := func(what, fallback string, ls schema.Labels) {
			t.Helper()
			if fallback == "" && ls == nil {
				return
			}
			n++
			if strings.Contains(fallback, " / ") || ls["zh-CN"] == "" || ls["en"] == "" || fallback != ls["zh-CN"] {
				t.Errorf("%s: %q %v, want the zh-CN words and variants in zh-CN and en", what, fallback, ls)
			}
			if !slices.Equal(placeholders(ls["en"]), placeholders(fallback)) {
				t.Errorf("%s: the en variant %q fills other fields than %q", what, ls["en"], fallback)
			}
		}
		for _, f := range app.Forms {
			for i, s := range f.Sections {
				both(fmt.Sprintf("form %s section %d", f.Entity, i), s.Title, s.Titles)
			}
		}
		for _, e := range app.Entities {
			for i, v := range e.Validations {
				both(fmt.Sprintf("%s validation %d", e.Name, i), v.Message, v.Messages)
			}
		}
		notifies := func(what string, actions []schema.Action) {
			for i, a := range actions {
				if a.Type == schema.ActionNotify {
					both(fmt.Sprintf("%s action %d", what, i), a.Message, a.Messages)
				}
			}
		}
		for _, f := range app.Flows {
			for _, tr := range f.Transitions {
				both(f.Name+"/"+tr.Name+" guard", tr.GuardMessage, tr.GuardMessages)
				notifies(f.Name+"/"+tr.Name, tr.Actions)
			}
		}
		for _, a := range app.Automations {
			notifies(a.Name, a.Actions)
			for _, v := range a.Variants {
				notifies(a.Name+"/"+v.Name, v.Actions)
			}
		}
		for _, r := range app.Assignments {
			if r.Countdown == nil {
				continue
			}
			for i, st := range r.Countdown.Steps {
				if st.Do != schema.StepReassign {
					both(fmt.Sprintf("%s countdown step %d", r.Name, i), st.Message, st.Messages)
				}
			}
		}
		if n == 0 {
			t.Fatal("no texts found: the test reads nothing")
		}
	})
}

var placeholderRe = regexp.MustCompile(`\{\{\s*([a-z][a-z0-9_]*)\s*\}\}`)
