package template

import (
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
