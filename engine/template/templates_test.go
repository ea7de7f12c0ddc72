package template

import (
	"github.com/formaapp/forma/templates"
	"testing"

	"github.com/formaapp/forma/schema"
)

// Every template assembles into an app document that schema.Parse takes
// without a problem (the engine's own checks run in its install tests), and
// has a picture for the gallery.
func TestTemplatesParse(t *testing.T) {
	names, err := Names(templates.FS())
	if err != nil || len(names) == 0 {
		t.Fatalf("names %v %v", names, err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			info, err := Read(templates.FS(), name)
			if err != nil {
				t.Fatal(err)
			}
			if problem := pictureProblem(templates.FS(), name, info); problem != "" {
				t.Error(problem)
			}
			doc, err := Document(templates.FS(), name)
			if err != nil {
				t.Fatal(err)
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
}
