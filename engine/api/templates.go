package api

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/sample"
	"github.com/formaapp/forma/engine/template"
	"github.com/formaapp/forma/schema"
)

// Limits of the template routes.
const (
	// MaxTemplateSample is the most sample rows an install through the API
	// writes: they are written while the request waits. The CLI writes up
	// to template.MaxSample.
	MaxTemplateSample = 20000
	// maxInstallBody bounds an install request (four small keys).
	maxInstallBody = 4 << 10
)

// templateRoutes serves the template gallery: the list, the install, and
// an app's export as a template folder.
func (s *Server) templateRoutes(meta fiber.Router) {
	meta.Get("/templates", s.requireAdmin, s.listTemplates)
	meta.Post("/templates/:name/install", s.requireAdmin, s.installTemplate)
	meta.Get("/apps/:app/template", s.exportTemplate)
}

// templateFS is the templates the server offers: Templates, else none.
func (s *Server) templateFS() fs.FS {
	if s.Templates != nil {
		return s.Templates
	}
	return embed.FS{}
}

// listTemplates answers every template with its picture (a data URL) and
// whether an app of its name is installed.
func (s *Server) listTemplates(c *fiber.Ctx) error {
	ls, err := template.List(s.templateFS())
	if err != nil {
		return err // a broken built-in folder: logged, a 500
	}
	apps, err := s.DB.Apps(c.UserContext())
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, a := range apps {
		have[a.Name] = true
	}
	type item struct {
		Name         string            `json:"name"`
		App          string            `json:"app"`
		Labels       map[string]string `json:"labels"`
		Descriptions map[string]string `json:"descriptions"`
		Picture      string            `json:"picture,omitempty"`
		Installed    bool              `json:"installed"`
	}
	out := make([]item, 0, len(ls))
	for _, l := range ls {
		it := item{Name: l.Name, App: l.App, Labels: l.Labels, Descriptions: l.Descriptions, Installed: have[l.App]}
		if it.Descriptions == nil {
			it.Descriptions = map[string]string{}
		}
		if l.Picture != nil {
			it.Picture = "data:" + l.PictureType + ";base64," + base64.StdEncoding.EncodeToString(l.Picture)
		}
		out = append(out, it)
	}
	return c.JSON(fiber.Map{"items": out})
}

// installRequest is the body of POST /api/meta/templates/{name}/install.
type installRequest struct {
	App     string `json:"app"`
	Upgrade bool   `json:"upgrade"`
	Sample  int    `json:"sample"`
	Seed    *int64 `json:"seed"` // absent: 1, as the CLI's --seed
}

// installTemplate installs a template (template.Install) and answers
// 201 {app, version, plan, sample, users}.
func (s *Server) installTemplate(c *fiber.Ctx) error {
	in, err := decodeInstall(c.Body())
	if err != nil {
		return err
	}
	name := c.Params("name")
	if in.Sample != 0 && (in.Sample < template.MinSample || in.Sample > MaxTemplateSample) {
		return &Error{Status: 422, Code: "invalid_value",
			Message: fmt.Sprintf("sample must be 0 (none) or between %d and %d through the API; write more with `forma template install --sample N`", template.MinSample, MaxTemplateSample),
			Details: []schema.Problem{{Path: "/sample", Code: "range", Params: map[string]any{"field": "sample", "min": template.MinSample, "limit": MaxTemplateSample},
				Message: fmt.Sprintf("must be 0 or between %d and %d", template.MinSample, MaxTemplateSample)}}}
	}
	seed := int64(1)
	if in.Seed != nil {
		seed = *in.Seed
	}
	t := template.Target{DB: s.DB, Records: s.Records, Access: s.Access, Catalog: s.Catalog, Check: s.checkApp, AppliedBy: user(c).ID}
	res, err := template.Install(c.UserContext(), t, s.templateFS(), name, template.InstallOptions{App: in.App, Upgrade: in.Upgrade, Sample: in.Sample, Seed: seed})
	var sampleErr *template.SampleError
	switch {
	case errors.Is(err, template.ErrNotFound):
		return &Error{Status: 404, Code: "template_not_found", Message: "there is no such template; GET /api/meta/templates lists them",
			Details: []schema.Problem{{Path: "", Code: "template_not_found", Params: map[string]any{"template": clipName(name)}, Message: "no such template"}}}
	case errors.Is(err, template.ErrAppExists):
		app := in.App
		if app == "" {
			if info, rerr := template.Read(s.templateFS(), name); rerr == nil {
				app = info.App
			}
		}
		return &Error{Status: 409, Code: "app_exists",
			Message: "an app named " + app + " is installed already; nothing was changed (ask for an upgrade, or install under another app name)",
			Details: []schema.Problem{{Path: "/app", Code: "app_exists", Params: map[string]any{"app": app}, Message: "an app of this name is installed already"}}}
	case errors.Is(err, sample.ErrNoRecipe):
		return &Error{Status: 422, Code: "invalid_value", Message: "this template has no sample data; install it with sample 0",
			Details: []schema.Problem{{Path: "/sample", Code: "no_sample_recipe", Params: map[string]any{"field": "sample"}, Message: "the template has no sample data"}}}
	case errors.As(err, &sampleErr):
		s.auditInstall(c, name, res)
		s.Log.Error("template sample data failed", "template", name, "app", sampleErr.App, "err", sampleErr.Err)
		return &Error{Status: 500, Code: "sample_failed",
			Message: "the app is installed, but its sample data could not be written (the server log says why)",
			Details: []schema.Problem{{Path: "/sample", Code: "sample_failed", Params: map[string]any{"app": sampleErr.App, "version": sampleErr.Version}, Message: "sample data failed"}}}
	case err != nil:
		return err
	}
	s.auditInstall(c, name, res)
	return c.Status(201).JSON(res)
}

// auditInstall records an install that applied a new version.
func (s *Server) auditInstall(c *fiber.Ctx, name string, res *template.Installed) {
	if res == nil || res.Plan == nil || res.Plan.ToVersion == res.Plan.FromVersion {
		return
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditAppApply, Target: res.App,
		Detail: map[string]any{"fromVersion": res.Plan.FromVersion, "toVersion": res.Plan.ToVersion, "destructive": res.Plan.Destructive, "template": name}})
}

// checkApp runs the checks POST /api/meta/apps runs (apply).
func (s *Server) checkApp(ctx context.Context, app *schema.App) schema.Problems {
	p := s.Records.CheckApp(app)
	p = append(p, s.Query.CheckApp(app)...)
	return append(p, s.checkAutomations(ctx, app)...)
}

// decodeInstall reads an install body strictly (decodeObject): an object
// of app, upgrade, sample and seed only; an empty body is {}, one past
// maxInstallBody a 413.
func decodeInstall(body []byte) (installRequest, error) {
	var in installRequest
	if len(body) > maxInstallBody {
		return in, apiError(413, "payload_too_large", "an install request may be at most %d bytes", maxInstallBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return in, nil
	}
	return in, decodeObject(body, &in, "app, upgrade, sample and seed")
}

// decodeObject reads body, one JSON object, into the struct v strictly:
// anything but one object, malformed JSON or a key v does not have is a
// 400 invalid_json (saying v takes keys), a value of the wrong type a 422
// at its path; then strictBody.
func decodeObject(body []byte, v any, keys string) error {
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return apiError(400, "invalid_json", "the body must be a JSON object of %s", keys)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return &Error{Status: 422, Code: "validation_failed", Message: te.Field + " must be " + te.Type.String(),
				Details: []schema.Problem{{Path: "/" + te.Field, Code: "type", Params: map[string]any{"field": te.Field, "expected": te.Type.String()}, Message: "must be " + te.Type.String()}}}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			key := clipName(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
			return &Error{Status: 400, Code: "invalid_json", Message: "unknown field " + key + ": the body takes " + keys,
				Details: []schema.Problem{{Path: "/" + key, Code: "unknown_field", Params: map[string]any{"field": key}, Message: "unknown field"}}}
		}
		return apiError(400, "invalid_json", "the body is not a JSON object of %s: %v", keys, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiError(400, "invalid_json", "the body holds more than one JSON value")
	}
	return strictBody(body)
}

// clipName bounds a caller's text echoed in an answer (64 bytes, whole
// characters).
func clipName(s string) string {
	if len(s) <= 64 {
		return s
	}
	n := 0
	for i := range s {
		if i > 64 {
			break
		}
		n = i
	}
	return s[:n] + "…"
}

// exportTemplate answers an app as a zip of its template folder. The
// document is the one GET /api/meta/apps/{app} answers the caller: whole
// for the admin, a member's view for a member (no scripts, hooks or role
// rules); anyone else gets the 404 of an app that does not exist.
func (s *Server) exportTemplate(c *fiber.Ctx) error {
	doc, err := s.memberApp(c)
	if err != nil {
		return err
	}
	info, body, err := template.Export(s.Records.DocumentView(doc, doc, caller(c)))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := template.Zip(&b, info, body); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+doc.Name+`-template.zip"`)
	return c.Send(b.Bytes())
}
