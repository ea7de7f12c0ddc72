package plugin

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// pluginRow is one installed plugin. Files is a JSON object, name →
// content; Manifest the plugin.json as installed.
type pluginRow struct {
	Name        string    `gorm:"primaryKey;size:40"`
	Version     string    `gorm:"size:64;not null"`
	Manifest    string    `gorm:"not null"`
	Files       string    `gorm:"not null"`
	SHA256      string    `gorm:"column:sha256;size:64;not null"`
	Signer      string    `gorm:"size:16"`
	Builtin     bool      `gorm:"not null"`
	InstalledAt time.Time `gorm:"not null"`
	InstalledBy string    `gorm:"size:64"`
}

func (pluginRow) TableName() string { return "_forma_plugins" }

// keyRow is a signing key an admin trusts.
type keyRow struct {
	ID        string    `gorm:"primaryKey;size:16"`
	Name      string    `gorm:"size:200"`
	PublicKey string    `gorm:"column:public_key;size:64;not null"`
	AddedAt   time.Time `gorm:"not null"`
	AddedBy   string    `gorm:"size:64"`
}

func (keyRow) TableName() string { return "_forma_plugin_keys" }

// Key is a trusted signing key. FromEnv keys come from the server's
// configuration (FORMA_PLUGIN_KEYS) and cannot be removed through the API.
type Key struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	PublicKey string    `json:"publicKey"`
	AddedAt   time.Time `json:"addedAt"`
	AddedBy   string    `json:"addedBy,omitempty"`
	FromEnv   bool      `json:"fromEnv,omitempty"`
}

// open creates the tables, loads the secrets key and installs the
// built-ins.
func (s *Service) open(ctx context.Context) error {
	if err := s.db.EnsureTables(ctx, &pluginRow{}, &keyRow{}, &appConfigRow{}); err != nil {
		return err
	}
	// A configured key is checked now; a key file is read when it exists
	// and created only when a secret is first sealed, so commands that
	// never touch secrets leave no file behind.
	if _, err := os.Stat(s.opts.KeyFile); s.opts.SecretKey != nil || os.Getenv(EnvSecretKey) != "" || (s.opts.KeyFile != "" && err == nil) {
		if _, err := s.secretKey(); err != nil {
			return err
		}
	}
	return s.installBuiltins(ctx)
}

// installBuiltins installs each folder of Options.Builtins whose content
// differs from what is installed (a new binary upgrades them; an
// unchanged one writes nothing).
func (s *Service) installBuiltins(ctx context.Context) error {
	if s.opts.Builtins == nil {
		return nil
	}
	dirs, err := fs.ReadDir(s.opts.Builtins, ".")
	if err != nil {
		return fmt.Errorf("built-in plugins: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		sub, err := fs.Sub(s.opts.Builtins, d.Name())
		if err != nil {
			return fmt.Errorf("built-in plugin %s: %w", d.Name(), err)
		}
		pkg, err := ReadFolder(sub)
		if err != nil {
			var re *RefusedError
			if errors.As(err, &re) && len(re.Details) > 0 {
				return fmt.Errorf("built-in plugin %s: %w:\n%s", d.Name(), err, re.Details.Error())
			}
			return fmt.Errorf("built-in plugin %s: %w", d.Name(), err)
		}
		var have pluginRow
		err = s.db.Gorm.WithContext(ctx).Select("sha256", "builtin").Where("name = ?", pkg.Manifest.Name).Take(&have).Error
		if err == nil && have.Builtin && have.SHA256 == pkg.SHA256 {
			continue
		}
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("built-in plugin %s: %w", pkg.Manifest.Name, err)
		}
		if err == nil && !have.Builtin {
			s.log.Warn("a built-in plugin replaces an installed plugin of the same name", "plugin", pkg.Manifest.Name)
		}
		if err := s.save(ctx, pkg, "system", true); err != nil {
			return fmt.Errorf("built-in plugin %s: %w", pkg.Manifest.Name, err)
		}
	}
	return nil
}

// save writes pkg's row (insert or replace). App configurations live in
// their own table and are untouched: an upgrade keeps them.
func (s *Service) save(ctx context.Context, pkg *Package, user string, builtin bool) error {
	files, err := json.Marshal(pkg.Files)
	if err != nil {
		return fmt.Errorf("encode the files: %w", err)
	}
	row := pluginRow{
		Name: pkg.Manifest.Name, Version: pkg.Manifest.Version, Manifest: pkg.Files[ManifestFile], Files: string(files),
		SHA256: pkg.SHA256, Signer: pkg.Signer, Builtin: builtin, InstalledAt: s.db.Now(), InstalledBy: user,
	}
	err = s.db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "name"}},
		DoUpdates: clause.AssignmentColumns([]string{"version", "manifest", "files", "sha256", "signer", "builtin", "installed_at", "installed_by"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("save plugin %s: %w", row.Name, err)
	}
	return nil
}

// trusted says whether pub is one of the server's keys or a key an admin
// added. Whole keys are compared, not their short ids.
func (s *Service) trusted(ctx context.Context, pub ed25519.PublicKey) (bool, error) {
	for _, k := range s.opts.TrustedKeys {
		if bytes.Equal(k, pub) {
			return true, nil
		}
	}
	var rows []keyRow
	if err := s.db.Gorm.WithContext(ctx).Where("id = ?", KeyID(pub)).Find(&rows).Error; err != nil {
		return false, fmt.Errorf("plugin: read the trusted keys: %w", err)
	}
	for _, r := range rows {
		if k, err := ParsePublicKey(r.PublicKey); err == nil && bytes.Equal(k, pub) {
			return true, nil
		}
	}
	return false, nil
}

// Install installs (or upgrades: settings and secrets of every app are
// kept) pkg as user. An unsigned package (or a folder) is refused unless
// allowUnsigned and the server allows it (Options.AllowUnsigned); one
// signed by a key the server does not trust is refused; a tampered one
// never reaches here (ReadZip refuses it).
func (s *Service) Install(ctx context.Context, pkg *Package, user string, allowUnsigned bool) (*Summary, error) {
	if pkg == nil || pkg.Manifest == nil {
		return nil, refused(ErrInvalid, "no package")
	}
	name := pkg.Manifest.Name
	if !pkg.Signed {
		if !allowUnsigned || !s.opts.AllowUnsigned {
			what := "the package is not signed"
			if pkg.Folder {
				what = "a folder is an unsigned package"
			}
			return nil, refused(ErrUnsigned, "%s: sign it with forma plugin pack, or (for development) start the server with FORMA_PLUGIN_ALLOW_UNSIGNED=1 and ask for an unsigned install", what)
		}
	} else {
		ok, err := s.trusted(ctx, pkg.key)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, refused(ErrUntrusted, "%s is signed by key %s, which this server does not trust; an admin trusts it with forma plugin trust or FORMA_PLUGIN_KEYS", name, pkg.Signer)
		}
	}
	var have pluginRow
	err := s.db.Gorm.WithContext(ctx).Select("builtin").Where("name = ?", name).Take(&have).Error
	switch {
	case err == nil && have.Builtin:
		return nil, refused(ErrBuiltin, "%s is a built-in plugin; it is upgraded with the server", name)
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
		return nil, fmt.Errorf("plugin: read %s: %w", name, err)
	}
	if err := s.save(ctx, pkg, user, false); err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	s.log.Info("plugin installed", "plugin", name, "version", pkg.Manifest.Version, "signer", pkg.Signer, "by", user)
	uses, err := s.uses(ctx)
	if err != nil {
		return nil, err
	}
	var row pluginRow
	if err := s.db.Gorm.WithContext(ctx).Where("name = ?", name).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("plugin: read %s: %w", name, err)
	}
	sum, err := summary(row, uses[name])
	if err != nil {
		return nil, err
	}
	return &sum, nil
}

// List lists the installed plugins by name with what uses each.
func (s *Service) List(ctx context.Context) ([]Summary, error) {
	var rows []pluginRow
	if err := s.db.Gorm.WithContext(ctx).Omit("files").Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("plugin: list: %w", err)
	}
	uses, err := s.uses(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(rows))
	for _, r := range rows {
		sum, err := summary(r, uses[r.Name])
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	return out, nil
}

func summary(r pluginRow, uses []Use) (Summary, error) {
	m, err := storedManifest(r.Name, r.Manifest)
	if err != nil {
		return Summary{}, err
	}
	if uses == nil {
		uses = []Use{}
	}
	return Summary{
		Name: r.Name, Version: r.Version, Author: m.Author, Description: m.Description, Labels: m.Labels,
		Hosts: nonNil(m.Hosts), Settings: m.Settings, Secrets: m.Secrets, Actions: nonNil(m.Actions), Triggers: nonNil(m.Triggers),
		Builtin: r.Builtin, Signer: r.Signer, SHA256: r.SHA256, InstalledAt: r.InstalledAt.UTC(), UsedBy: uses,
	}, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// uses returns, per plugin, the automations (their actions and their
// variants' actions) and connectors of every app's current document that
// use it.
func (s *Service) uses(ctx context.Context) (map[string][]Use, error) {
	apps, err := s.db.Apps(ctx)
	if err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	out := map[string][]Use{}
	for _, a := range apps {
		doc, err := s.cat.App(ctx, a.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("plugin: read app %s: %w", a.Name, err)
		}
		for _, au := range doc.Automations {
			seen := map[string]bool{}
			actions := au.Actions
			for _, v := range au.Variants {
				actions = append(append([]schema.Action(nil), actions...), v.Actions...)
			}
			for _, act := range actions {
				if act.Type == schema.ActionPlugin && act.Plugin != "" && !seen[act.Plugin] {
					seen[act.Plugin] = true
					out[act.Plugin] = append(out[act.Plugin], Use{App: a.Name, Automation: au.Name})
				}
			}
		}
		for _, c := range doc.Connectors {
			if c.Plugin != "" {
				out[c.Plugin] = append(out[c.Plugin], Use{App: a.Name, Connector: c.Name})
			}
		}
	}
	return out, nil
}

// manifests caches parsed stored manifests by their text's SHA-256: a
// manifest is parsed (and its schemas compiled) once per process, not on
// every call. Content-addressed, so it is never stale; it is emptied when
// it grows past maxCachedManifests (upgrades add entries).
var manifests sync.Map

const maxCachedManifests = 1000

var cachedManifests atomic.Int64

// storedManifest parses an installed plugin's manifest. The manifest is
// shared: callers must not change it.
func storedManifest(name, text string) (*schema.Manifest, error) {
	key := sha256.Sum256([]byte(text))
	if m, ok := manifests.Load(key); ok {
		return m.(*schema.Manifest), nil
	}
	m, probs := schema.ParseManifest([]byte(text))
	if len(probs) > 0 {
		return nil, fmt.Errorf("plugin: the stored manifest of %s does not parse: %v", name, probs[0].Message)
	}
	if cachedManifests.Add(1) > maxCachedManifests {
		manifests.Clear()
		cachedManifests.Store(1)
	}
	manifests.Store(key, m)
	return m, nil
}

// Get returns one installed plugin (nil, nil when absent). Its Manifest
// is shared: callers must not change it.
func (s *Service) Get(ctx context.Context, name string) (*Installed, error) {
	var row pluginRow
	err := s.db.Gorm.WithContext(ctx).Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("plugin: read %s: %w", name, err)
	}
	m, err := storedManifest(name, row.Manifest)
	if err != nil {
		return nil, err
	}
	var files map[string]string
	if err := json.Unmarshal([]byte(row.Files), &files); err != nil {
		return nil, fmt.Errorf("plugin: the stored files of %s: %w", name, err)
	}
	return &Installed{Manifest: m, Files: files, SHA256: row.SHA256, Signer: row.Signer, Builtin: row.Builtin,
		InstalledAt: row.InstalledAt.UTC(), InstalledBy: row.InstalledBy}, nil
}

// Remove removes a plugin and its configuration in every app; refused
// (wrapping ErrInUse, naming each user) while an app's automation or
// connector uses it, and for a built-in.
func (s *Service) Remove(ctx context.Context, name, user string) error {
	var row pluginRow
	err := s.db.Gorm.WithContext(ctx).Select("name", "builtin").Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return refused(ErrNotFound, "no plugin named %q is installed", name)
	}
	if err != nil {
		return fmt.Errorf("plugin: read %s: %w", name, err)
	}
	if row.Builtin {
		return refused(ErrBuiltin, "%s is a built-in plugin and cannot be removed", name)
	}
	uses, err := s.uses(ctx)
	if err != nil {
		return err
	}
	if u := uses[name]; len(u) > 0 {
		return refused(ErrInUse, "%s is used by %s; remove those first", name, describeUses(u))
	}
	err = s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("plugin = ?", name).Delete(&appConfigRow{}).Error; err != nil {
			return err
		}
		return tx.Where("name = ?", name).Delete(&pluginRow{}).Error
	})
	if err != nil {
		return fmt.Errorf("plugin: remove %s: %w", name, err)
	}
	s.log.Info("plugin removed", "plugin", name, "by", user)
	return nil
}

// describeUses names uses as app/automation (automation) and
// app/connector (connector).
func describeUses(uses []Use) string {
	parts := make([]string, len(uses))
	for i, u := range uses {
		if u.Connector != "" {
			parts[i] = u.App + "/" + u.Connector + " (connector)"
		} else {
			parts[i] = u.App + "/" + u.Automation + " (automation)"
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// Keys lists the trusted signing keys: the server's (FORMA_PLUGIN_KEYS)
// then those admins added, by name.
func (s *Service) Keys(ctx context.Context) ([]Key, error) {
	out := []Key{}
	for _, k := range s.opts.TrustedKeys {
		out = append(out, Key{ID: KeyID(k), Name: "FORMA_PLUGIN_KEYS", PublicKey: b64.EncodeToString(k), FromEnv: true})
	}
	var rows []keyRow
	if err := s.db.Gorm.WithContext(ctx).Order("name, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("plugin: list keys: %w", err)
	}
	for _, r := range rows {
		out = append(out, Key{ID: r.ID, Name: r.Name, PublicKey: r.PublicKey, AddedAt: r.AddedAt.UTC(), AddedBy: r.AddedBy})
	}
	return out, nil
}

// AddKey trusts a public key (base64, as forma plugin keygen writes it)
// under name; adding a key again renames it.
func (s *Service) AddKey(ctx context.Context, publicKey, name, user string) (*Key, error) {
	pub, err := ParsePublicKey(publicKey)
	if err != nil {
		e := refused(ErrInvalid, "%s", strings.TrimPrefix(err.Error(), "plugin: "))
		e.Code = CodeConfig
		e.Details = schema.Problems{{Path: "/publicKey", Code: "format", Message: e.Message}}
		return nil, e
	}
	name = strings.TrimSpace(name)
	if len(name) > 200 {
		e := refused(ErrInvalid, "a key's name is at most 200 characters")
		e.Code = CodeConfig
		e.Details = schema.Problems{{Path: "/name", Code: "max_length", Params: map[string]any{"limit": 200}, Message: e.Message}}
		return nil, e
	}
	row := keyRow{ID: KeyID(pub), Name: name, PublicKey: b64.EncodeToString(pub), AddedAt: s.db.Now(), AddedBy: user}
	err = s.db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "public_key", "added_at", "added_by"}),
	}).Create(&row).Error
	if err != nil {
		return nil, fmt.Errorf("plugin: add key: %w", err)
	}
	s.log.Info("plugin signing key trusted", "key", row.ID, "name", row.Name, "by", user)
	return &Key{ID: row.ID, Name: row.Name, PublicKey: row.PublicKey, AddedAt: row.AddedAt.UTC(), AddedBy: row.AddedBy}, nil
}

// RemoveKey stops trusting a key an admin added. Plugins it signed stay
// installed; their next upgrade needs a trusted key.
func (s *Service) RemoveKey(ctx context.Context, id, user string) error {
	res := s.db.Gorm.WithContext(ctx).Where("id = ?", id).Delete(&keyRow{})
	if res.Error != nil {
		return fmt.Errorf("plugin: remove key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return refused(ErrNotFound, "no trusted key %q (keys from FORMA_PLUGIN_KEYS are removed from the server's configuration)", id)
	}
	s.log.Info("plugin signing key removed", "key", id, "by", user)
	return nil
}
