package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/schema/strictjson"
)

// appConfigRow is a plugin's configuration in one app. Secrets is the
// sealed JSON object of the secrets set ("" when none); it is opened only
// for a call (secrets) and to merge a change (Configure).
type appConfigRow struct {
	App          string    `gorm:"primaryKey;size:63"`
	Plugin       string    `gorm:"primaryKey;size:40"`
	Enabled      bool      `gorm:"not null"`
	Settings     string    `gorm:"not null"`
	Secrets      string    `gorm:"not null"`
	AllowPrivate bool      `gorm:"column:allow_private;not null"`
	UpdatedAt    time.Time `gorm:"not null"`
	UpdatedBy    string    `gorm:"size:64"`
}

func (appConfigRow) TableName() string { return "_forma_plugin_apps" }

// Bounds of an app's configuration of one plugin.
const (
	MaxSettingsBytes = 64 << 10
	MaxSecretBytes   = 8 << 10
)

// secretsAAD binds an app's sealed secrets of a plugin to their row.
func secretsAAD(app, plugin string) string { return "secrets\x00" + app + "\x00" + plugin }

// installed reads a plugin's manifest, or a 404 RefusedError.
func (s *Service) installedManifest(ctx context.Context, name string) (*schema.Manifest, error) {
	var row pluginRow
	err := s.db.Gorm.WithContext(ctx).Select("name", "manifest").Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, refused(ErrNotFound, "no plugin named %q is installed", name)
	}
	if err != nil {
		return nil, fmt.Errorf("plugin: read %s: %w", name, err)
	}
	return storedManifest(name, row.Manifest)
}

// configRow reads app's row for plugin (ok false when never configured).
func (s *Service) configRow(ctx context.Context, app, plugin string) (row appConfigRow, ok bool, err error) {
	err = s.db.Gorm.WithContext(ctx).Where("app = ? AND plugin = ?", app, plugin).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return appConfigRow{App: app, Plugin: plugin, Settings: "{}"}, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("plugin: read the configuration of %s in %s: %w", plugin, app, err)
	}
	return row, true, nil
}

// openSecrets decrypts a row's secrets.
func (s *Service) openSecrets(row appConfigRow) (map[string]string, error) {
	out := map[string]string{}
	if row.Secrets == "" {
		return out, nil
	}
	plain, err := s.unseal(row.Secrets, secretsAAD(row.App, row.Plugin))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, errUnseal
	}
	return out, nil
}

// appConfig is what the API shows of a row: never a secret's value.
func (s *Service) appConfig(m *schema.Manifest, row appConfigRow) (*AppConfig, error) {
	set, err := s.openSecrets(row)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for name := range schemaPropertyNames(m.Secrets) {
		names[name] = false
	}
	for name := range set {
		names[name] = true
	}
	settings := json.RawMessage(row.Settings)
	if len(settings) == 0 {
		settings = json.RawMessage("{}")
	}
	return &AppConfig{App: row.App, Plugin: row.Plugin, Enabled: row.Enabled, Settings: settings, SecretsSet: names,
		AllowPrivate: row.AllowPrivate, UpdatedAt: row.UpdatedAt.UTC(), UpdatedBy: row.UpdatedBy}, nil
}

// schemaPropertyNames returns the names of a JSON Schema's properties.
func schemaPropertyNames(raw json.RawMessage) map[string]bool {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	out := map[string]bool{}
	if len(raw) > 0 && json.Unmarshal(raw, &s) == nil {
		for k := range s.Properties {
			out[k] = true
		}
	}
	return out
}

// Config returns a plugin's configuration in app (disabled and empty
// when never configured).
func (s *Service) Config(ctx context.Context, app, plugin string) (*AppConfig, error) {
	m, err := s.installedManifest(ctx, plugin)
	if err != nil {
		return nil, err
	}
	row, _, err := s.configRow(ctx, app, plugin)
	if err != nil {
		return nil, err
	}
	return s.appConfig(m, row)
}

// Configs returns the configuration in app of every installed plugin, by
// plugin name.
func (s *Service) Configs(ctx context.Context, app string) ([]AppConfig, error) {
	var plugins []pluginRow
	if err := s.db.Gorm.WithContext(ctx).Select("name", "manifest").Order("name").Find(&plugins).Error; err != nil {
		return nil, fmt.Errorf("plugin: list: %w", err)
	}
	var rows []appConfigRow
	if err := s.db.Gorm.WithContext(ctx).Where("app = ?", app).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("plugin: read the configurations of %s: %w", app, err)
	}
	byPlugin := map[string]appConfigRow{}
	for _, r := range rows {
		byPlugin[r.Plugin] = r
	}
	out := make([]AppConfig, 0, len(plugins))
	for _, p := range plugins {
		m, err := storedManifest(p.Name, p.Manifest)
		if err != nil {
			return nil, err
		}
		row, ok := byPlugin[p.Name]
		if !ok {
			row = appConfigRow{App: app, Plugin: p.Name, Settings: "{}"}
		}
		c, err := s.appConfig(m, row)
		if err != nil {
			return nil, fmt.Errorf("plugin: %s in %s: %w", p.Name, app, err)
		}
		out = append(out, *c)
	}
	return out, nil
}

// Configure sets a plugin's configuration in app: settings validated
// against the manifest's settings schema and secrets against its secrets
// schema (every problem with its pointer, /settings/x and /secrets/y; a
// required one is checked once the plugin is enabled), secrets sealed.
// Secrets: a string sets one, null clears it, an absent name keeps it.
// admin says whether the caller is the platform admin: only one may
// change AllowPrivate.
func (s *Service) Configure(ctx context.Context, app, plugin string, in ConfigInput, user string, admin bool) (*AppConfig, error) {
	m, err := s.installedManifest(ctx, plugin)
	if err != nil {
		return nil, err
	}
	if _, err := s.cat.App(ctx, app); errors.Is(err, store.ErrNotFound) {
		return nil, refused(ErrNotFound, "no app named %q", app)
	} else if err != nil {
		return nil, fmt.Errorf("plugin: read app %s: %w", app, err)
	}
	row, _, err := s.configRow(ctx, app, plugin)
	if err != nil {
		return nil, err
	}
	current, err := s.openSecrets(row)
	if err != nil {
		return nil, err
	}
	if in.Enabled != nil {
		row.Enabled = *in.Enabled
	}
	var probs schema.Problems

	settings := row.Settings
	if len(in.Settings) > 0 {
		settings = string(bytes.TrimSpace(in.Settings))
		if settings == "null" {
			settings = "{}"
		}
	}
	if len(settings) > MaxSettingsBytes {
		probs.AddCode("/settings", "max_length", map[string]any{"limit": MaxSettingsBytes}, "settings are larger than %d KB", MaxSettingsBytes>>10)
	} else {
		probs = append(probs, validateSettings(m, []byte(settings))...)
	}

	secrets := make(map[string]string, len(current))
	for k, v := range current {
		secrets[k] = v
	}
	declared := schemaPropertyNames(m.Secrets)
	for _, k := range slices.Sorted(maps.Keys(in.Secrets)) {
		v := in.Secrets[k]
		at := "/secrets/" + pointerSegment(k)
		switch {
		case !declared[k]:
			probs.AddCode(at, "unknown_field", map[string]any{"field": k}, "plugin %s has no secret named %q", plugin, k)
		case v == nil:
			delete(secrets, k)
		case len(*v) > MaxSecretBytes:
			probs.AddCode(at, "max_length", map[string]any{"limit": MaxSecretBytes}, "secret %s is longer than %d bytes", k, MaxSecretBytes)
		default:
			secrets[k] = *v
		}
	}
	probs = append(probs, validateSecrets(m, secrets)...)

	if in.AllowPrivate != nil && *in.AllowPrivate != row.AllowPrivate {
		if !admin {
			probs.AddCode("/allowPrivate", "not_writable", map[string]any{"field": "allowPrivate"},
				"only a platform administrator may let a plugin reach private addresses")
		} else {
			row.AllowPrivate = *in.AllowPrivate
		}
	}
	if !row.Enabled {
		// A disabled plugin may be configured bit by bit: what is missing
		// matters once it is enabled.
		kept := probs[:0]
		for _, p := range probs {
			if p.Code != "required" {
				kept = append(kept, p)
			}
		}
		probs = kept
	}
	if len(probs) > 0 {
		e := refused(ErrInvalid, "the configuration of %s has %d problem(s)", plugin, len(probs))
		e.Code, e.Details = CodeConfig, probs
		return nil, e
	}

	row.Settings = settings
	row.Secrets = ""
	if len(secrets) > 0 {
		plain, err := json.Marshal(secrets)
		if err != nil {
			return nil, fmt.Errorf("plugin: encode secrets: %w", err)
		}
		if row.Secrets, err = s.seal(plain, secretsAAD(app, plugin)); err != nil {
			return nil, err
		}
	}
	row.UpdatedAt, row.UpdatedBy = s.db.Now(), user
	err = s.db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "app"}, {Name: "plugin"}},
		DoUpdates: clause.AssignmentColumns([]string{"enabled", "settings", "secrets", "allow_private", "updated_at", "updated_by"}),
	}).Create(&row).Error
	if err != nil {
		return nil, fmt.Errorf("plugin: save the configuration of %s in %s: %w", plugin, app, err)
	}
	s.log.Info("plugin configured", "app", app, "plugin", plugin, "enabled", row.Enabled, "by", user)
	return s.appConfig(m, row)
}

// validateSettings checks settings (a JSON text) against the manifest's
// settings schema; a plugin without one takes no settings.
func validateSettings(m *schema.Manifest, settings []byte) schema.Problems {
	var p schema.Problems
	if len(m.Settings) == 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(settings, &obj); err != nil {
			p.AddCode("/settings", "type", map[string]any{"expected": "object"}, "settings must be an object")
			return p
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			p.AddCode("/settings/"+pointerSegment(k), "unknown_field", map[string]any{"field": k}, "plugin %s has no settings", m.Name)
		}
		return p
	}
	js, err := schema.CompileJSONSchema(m.Settings)
	if err != nil {
		p.AddCode("/settings", "internal", nil, "the plugin's settings schema does not compile: %v", err)
		return p
	}
	return requiredAtKey(js.ValidateJSON(settings, "/settings"))
}

// validateSecrets checks the secrets an app would have against the
// manifest's secrets schema. The problems never hold a value: each is
// worded from its code and the secret's name only.
func validateSecrets(m *schema.Manifest, secrets map[string]string) schema.Problems {
	var p schema.Problems
	if len(m.Secrets) == 0 {
		return nil // no secret is declared, so none got this far
	}
	js, err := schema.CompileJSONSchema(m.Secrets)
	if err != nil {
		p.AddCode("/secrets", "internal", nil, "the plugin's secrets schema does not compile: %v", err)
		return p
	}
	inst := make(map[string]any, len(secrets))
	for k, v := range secrets {
		inst[k] = v
	}
	for _, pr := range requiredAtKey(js.Validate(inst, "/secrets")) {
		name := pr.Path
		if segs := len("/secrets/"); len(pr.Path) > segs {
			name = pr.Path[segs:]
		}
		switch pr.Code {
		case "required":
			p.AddCode(pr.Path, "required", pr.Params, "secret %s is required", name)
		default:
			params := map[string]any{}
			if l, ok := pr.Params["limit"]; ok {
				params["limit"] = l
			}
			p.AddCode(pr.Path, pr.Code, params, "the value given for secret %s does not fit the plugin's rule for it (%s)", name, pr.Code)
		}
	}
	return p
}

// requiredAtKey moves a missing key's problem from the object to the key
// itself (/settings/host), where a form shows it.
func requiredAtKey(probs schema.Problems) schema.Problems {
	for i, p := range probs {
		if k, ok := p.Params["key"].(string); ok && p.Code == "required" {
			probs[i].Path = p.Path + "/" + pointerSegment(k)
		}
	}
	return probs
}

// pointerSegment escapes one JSON pointer segment (RFC 6901).
var pointerSegment = strings.NewReplacer("~", "~0", "/", "~1").Replace

// DecodeConfigInput reads a PUT body strictly: syntax, duplicate keys,
// invalid UTF-8, unknown fields are refused with a pointer.
func DecodeConfigInput(body []byte) (ConfigInput, error) {
	var in ConfigInput
	bad := func(path, code, msg string) error {
		e := refused(ErrInvalid, "%s", msg)
		e.Code, e.Details = CodeConfig, schema.Problems{{Path: path, Code: code, Message: msg}}
		return e
	}
	if err := json.Unmarshal(body, new(json.RawMessage)); err != nil {
		return in, bad("", "invalid_json", "the body is not JSON: "+err.Error())
	}
	var se *strictjson.Error
	if errors.As(strictjson.Check(body), &se) {
		return in, bad(se.Pointer, "invalid_json", se.Message)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&in); err != nil {
		return in, bad("", "invalid", "the body is not a plugin configuration ({enabled, settings, secrets, allowPrivate}): "+err.Error())
	}
	if len(in.Settings) > 0 {
		t := bytes.TrimSpace(in.Settings)
		if t[0] != '{' && string(t) != "null" {
			return in, bad("/settings", "type", "settings must be an object")
		}
	}
	return in, nil
}

// secrets returns a plugin's decrypted secrets in app, for a call only.
func (s *Service) secrets(ctx context.Context, app, plugin string) (map[string]string, error) {
	row, _, err := s.configRow(ctx, app, plugin)
	if err != nil {
		return nil, err
	}
	return s.openSecrets(row)
}
