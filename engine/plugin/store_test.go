package plugin

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

var testSecretKey = bytes.Repeat([]byte{7}, SecretKeyBytes)

// newService opens the plugin service on db; logs go to logBuf.
func newService(t *testing.T, db *store.DB, opts Options, logBuf io.Writer) *Service {
	t.Helper()
	if opts.SecretKey == nil && opts.KeyFile == "" {
		opts.SecretKey = testSecretKey
	}
	if logBuf == nil {
		logBuf = io.Discard
	}
	s, err := New(context.Background(), db, store.NewCatalog(db), nil, nil, opts, slog.New(slog.NewTextHandler(logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// applyApp applies app "sales" with a lead entity and the given
// automations (plugin actions are added to the parsed document, so this
// does not depend on the app schema knowing them).
func applyApp(t *testing.T, db *store.DB, name string, autos []schema.Automation, connectors []schema.Connector) {
	t.Helper()
	app, probs := schema.Parse([]byte(`{"name": "` + name + `", "entities": [{"id": "e1", "name": "lead", "fields": [
	  {"id": "f1", "name": "title", "type": "text"}]}]}`))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	app.Automations, app.Connectors = autos, connectors
	if _, err := db.Apply(context.Background(), app, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
}

func pluginAutomation(name, plugin string, variants bool) schema.Automation {
	act := schema.Action{Type: schema.ActionPlugin, Plugin: plugin, PluginAction: "send", Input: map[string]json.RawMessage{"text": json.RawMessage(`"hi"`)}}
	a := schema.Automation{Name: name, Entity: "lead", Trigger: schema.Trigger{Type: schema.TriggerCreated}}
	if variants {
		a.Variants = []schema.Variant{{Name: "a", Weight: 1, Actions: []schema.Action{{Type: schema.ActionNotify, Message: "x", To: &schema.Recipients{Owner: true}}}},
			{Name: "b", Weight: 1, Actions: []schema.Action{act}}}
	} else {
		a.Actions = []schema.Action{act}
	}
	return a
}

func str(s string) *string { return &s }
func yes() *bool           { b := true; return &b }

func TestInstallSignatures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		trustedKey, otherKey := testKey(t), testKey(t)
		s := newService(t, db, Options{TrustedKeys: []ed25519.PublicKey{trustedKey.Public().(ed25519.PublicKey)}}, nil)

		// Signed by an untrusted key: refused.
		pkg, err := ReadZip(packed(t, pluginFiles("1.0.0"), otherKey))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Install(ctx, pkg, "admin", true); !errors.Is(err, ErrUntrusted) || refusedCode(err) != CodeUntrusted {
			t.Fatalf("untrusted: %v", err)
		}
		// An admin trusts it: accepted.
		pub := base64.StdEncoding.EncodeToString(otherKey.Public().(ed25519.PublicKey))
		k, err := s.AddKey(ctx, pub, "Acme", "admin")
		if err != nil || k.ID != pkg.Signer {
			t.Fatalf("add key: %+v %v", k, err)
		}
		sum, err := s.Install(ctx, pkg, "admin", false)
		if err != nil {
			t.Fatalf("install: %v", err)
		}
		if sum.Name != "notifier" || sum.Version != "1.0.0" || sum.Signer != pkg.Signer || sum.Builtin || len(sum.Actions) != 1 || sum.UsedBy == nil {
			t.Fatalf("summary %+v", sum)
		}
		// Signed by the server's own key: accepted.
		pkg2, _ := ReadZip(packed(t, pluginFiles("1.1.0"), trustedKey))
		if _, err := s.Install(ctx, pkg2, "admin", false); err != nil {
			t.Fatalf("trusted by the server: %v", err)
		}
		keys, _ := s.Keys(ctx)
		if len(keys) != 2 || !keys[0].FromEnv || keys[1].Name != "Acme" {
			t.Fatalf("keys %+v", keys)
		}
		// Removing the key: the next upgrade signed by it is refused.
		if err := s.RemoveKey(ctx, k.ID, "admin"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveKey(ctx, k.ID, "admin"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("remove twice: %v", err)
		}
		if _, err := s.Install(ctx, pkg, "admin", false); !errors.Is(err, ErrUntrusted) {
			t.Fatalf("after the key is removed: %v", err)
		}
		for _, bad := range []string{"", "nope", base64.StdEncoding.EncodeToString([]byte("short"))} {
			if _, err := s.AddKey(ctx, bad, "x", "admin"); refusedCode(err) != CodeConfig {
				t.Errorf("add key %q: %v", bad, err)
			}
		}
		// A tampered zip never gets to Install.
		z := packed(t, pluginFiles("1.2.0"), trustedKey)
		z[len(z)/2] ^= 1
		if _, err := ReadZip(z); !errors.Is(err, ErrSignature) {
			t.Fatalf("tampered: %v", err)
		}
		got, _ := s.Get(ctx, "notifier")
		if got.Manifest.Version != "1.1.0" {
			t.Fatalf("installed %s", got.Manifest.Version)
		}
	})
}

func TestInstallUnsigned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		folder, err := Load(writeFolder(t, pluginFiles("1.0.0")))
		if err != nil {
			t.Fatal(err)
		}
		var entries [][2]string
		for n, c := range pluginFiles("1.0.0") {
			entries = append(entries, [2]string{n, c})
		}
		zipped, err := ReadZip(rawZip(t, entries))
		if err != nil {
			t.Fatal(err)
		}
		// A server that does not allow unsigned packages refuses them,
		// whatever the request asks.
		strict := newService(t, db, Options{}, nil)
		for _, pkg := range []*Package{folder, zipped} {
			for _, ask := range []bool{false, true} {
				if _, err := strict.Install(ctx, pkg, "admin", ask); !errors.Is(err, ErrUnsigned) || refusedCode(err) != CodeUnsigned {
					t.Fatalf("strict server, folder %v, ask %v: %v", pkg.Folder, ask, err)
				}
			}
		}
		// One that allows them installs one only when asked.
		dev := newService(t, db, Options{AllowUnsigned: true}, nil)
		if _, err := dev.Install(ctx, folder, "admin", false); !errors.Is(err, ErrUnsigned) {
			t.Fatalf("not asked: %v", err)
		}
		sum, err := dev.Install(ctx, folder, "admin", true)
		if err != nil || sum.Signer != "" {
			t.Fatalf("asked: %+v %v", sum, err)
		}
		got, err := dev.Get(ctx, "notifier")
		if err != nil || got == nil || got.Files["index.js"] == "" || got.Files["test/send.json"] == "" || got.InstalledBy != "admin" {
			t.Fatalf("get %+v %v", got, err)
		}
		if none, err := dev.Get(ctx, "absent"); none != nil || err != nil {
			t.Fatalf("get absent: %v %v", none, err)
		}
	})
}

// TestUpgradeKeepsConfig: an app's settings and secrets survive an
// upgrade; secrets are sealed at rest and never answered.
func TestUpgradeKeepsConfig(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var logs bytes.Buffer
		s := newService(t, db, Options{AllowUnsigned: true}, &logs)
		applyApp(t, db, "sales", nil, nil)
		applyApp(t, db, "shop", nil, nil)
		v1, _ := Load(writeFolder(t, pluginFiles("1.0.0")))
		if _, err := s.Install(ctx, v1, "admin", true); err != nil {
			t.Fatal(err)
		}
		const token = "tok-SUPER-secret-value-123"
		c, err := s.Configure(ctx, "sales", "notifier", ConfigInput{Enabled: yes(), Settings: json.RawMessage(`{"channel": "#leads"}`),
			Secrets: map[string]*string{"token": str(token), "other": str("second-secret-xyz")}}, "u1", false)
		if err != nil {
			t.Fatalf("configure: %v", err)
		}
		if !c.Enabled || string(c.Settings) != `{"channel": "#leads"}` || !c.SecretsSet["token"] || !c.SecretsSet["other"] || c.UpdatedBy != "u1" {
			t.Fatalf("config %+v", c)
		}
		if _, err := s.Configure(ctx, "shop", "notifier", ConfigInput{Settings: json.RawMessage(`{"channel": "#shop"}`)}, "u2", false); err != nil {
			t.Fatal(err)
		}
		// Upgrade.
		v2, _ := Load(writeFolder(t, pluginFiles("2.0.0")))
		if _, err := s.Install(ctx, v2, "admin", true); err != nil {
			t.Fatal(err)
		}
		c, err = s.Config(ctx, "sales", "notifier")
		if err != nil || !c.Enabled || string(c.Settings) != `{"channel": "#leads"}` || !c.SecretsSet["token"] {
			t.Fatalf("after upgrade: %+v %v", c, err)
		}
		got, _ := s.secrets(ctx, "sales", "notifier")
		if got["token"] != token || got["other"] != "second-secret-xyz" {
			t.Fatalf("secrets after upgrade: %d", len(got))
		}
		if c, _ := s.Config(ctx, "shop", "notifier"); string(c.Settings) != `{"channel": "#shop"}` || c.Enabled || c.SecretsSet["token"] {
			t.Fatalf("shop after upgrade: %+v", c)
		}
		// Absent keeps, null clears, a string sets.
		if _, err := s.Configure(ctx, "sales", "notifier", ConfigInput{Secrets: map[string]*string{"other": nil}}, "u1", false); err != nil {
			t.Fatal(err)
		}
		got, _ = s.secrets(ctx, "sales", "notifier")
		if got["token"] != token || len(got) != 1 {
			t.Fatalf("after clearing other: %d secrets", len(got))
		}
		// At rest: the raw column holds neither the value nor its base64.
		var raw struct{ Secrets, Settings string }
		if err := db.Gorm.Raw("SELECT secrets, settings FROM _forma_plugin_apps WHERE app = ? AND plugin = ?", "sales", "notifier").Scan(&raw).Error; err != nil {
			t.Fatal(err)
		}
		if raw.Secrets == "" || strings.Contains(raw.Secrets, token) || strings.Contains(raw.Secrets, base64.StdEncoding.EncodeToString([]byte(token))) {
			t.Fatalf("secrets column %q", raw.Secrets)
		}
		// A sealed value copied to another row does not open there.
		db.Gorm.Exec("UPDATE _forma_plugin_apps SET secrets = ? WHERE app = ?", raw.Secrets, "shop")
		if _, err := s.secrets(ctx, "shop", "notifier"); !errors.Is(err, errUnseal) {
			t.Fatalf("moved secrets opened: %v", err)
		}
		db.Gorm.Exec("UPDATE _forma_plugin_apps SET secrets = '' WHERE app = ?", "shop")
		// Never in an answer or a log line.
		all, _ := s.Configs(ctx, "sales")
		b, _ := json.Marshal(all)
		list, _ := s.List(ctx)
		lb, _ := json.Marshal(list)
		for what, text := range map[string]string{"configs": string(b), "list": string(lb), "logs": logs.String()} {
			if strings.Contains(text, token) || strings.Contains(text, "second-secret") {
				t.Errorf("%s shows a secret: %s", what, text)
			}
		}
		if len(all) != 1 || all[0].Plugin != "notifier" || !all[0].SecretsSet["token"] {
			t.Fatalf("configs %s", b)
		}
		// A server with another key cannot read them, and says so without the value.
		other := newService(t, db, Options{SecretKey: bytes.Repeat([]byte{9}, SecretKeyBytes), AllowUnsigned: true}, nil)
		if _, err := other.secrets(ctx, "sales", "notifier"); !errors.Is(err, errUnseal) || strings.Contains(err.Error(), token) {
			t.Fatalf("other key: %v", err)
		}
	})
}

// TestConfigureValidation: every problem of a configuration at its
// pointer; nothing changes.
func TestConfigureValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, Options{AllowUnsigned: true}, nil)
		applyApp(t, db, "sales", nil, nil)
		pkg, _ := Load(writeFolder(t, pluginFiles("1.0.0")))
		if _, err := s.Install(ctx, pkg, "admin", true); err != nil {
			t.Fatal(err)
		}
		const short = "short-1"
		_, err := s.Configure(ctx, "sales", "notifier", ConfigInput{Enabled: yes(),
			Settings:     json.RawMessage(`{"channel": "", "retries": 9, "color": "red"}`),
			Secrets:      map[string]*string{"token": str(short), "nope": str("x")},
			AllowPrivate: yes()}, "u1", false)
		var re *RefusedError
		if !errors.As(err, &re) || re.Status != 422 || re.Code != CodeConfig {
			t.Fatalf("configure: %v", err)
		}
		want := map[string]string{"/settings/channel": "min_length", "/settings/retries": "max",
			"/secrets/token": "min_length", "/secrets/nope": "unknown_field", "/allowPrivate": "not_writable"}
		got := map[string]string{}
		for _, p := range re.Details {
			got[p.Path] = p.Code
			if strings.Contains(p.Message, short) || strings.Contains(re.Message, short) {
				t.Errorf("a problem shows the secret: %s", p.Message)
			}
		}
		for path, code := range want {
			if got[path] != code {
				t.Errorf("%s: %q, want %q (%v)", path, got[path], code, re.Details)
			}
		}
		if c, _ := s.Config(ctx, "sales", "notifier"); c.Enabled || len(c.SecretsSet) != 2 || c.SecretsSet["token"] || string(c.Settings) != "{}" {
			t.Fatalf("changed: %+v", c)
		}
		// A required secret is required once enabled, at its own pointer.
		_, err = s.Configure(ctx, "sales", "notifier", ConfigInput{Enabled: yes()}, "u1", false)
		if !errors.As(err, &re) || len(re.Details) != 1 || re.Details[0].Path != "/secrets/token" || re.Details[0].Code != "required" {
			t.Fatalf("required: %v", err)
		}
		// Disabled, it may wait.
		if _, err := s.Configure(ctx, "sales", "notifier", ConfigInput{Settings: json.RawMessage(`{"channel": "x"}`)}, "u1", false); err != nil {
			t.Fatalf("disabled: %v", err)
		}
		// The platform admin may allow private addresses.
		c, err := s.Configure(ctx, "sales", "notifier", ConfigInput{AllowPrivate: yes()}, "root", true)
		if err != nil || !c.AllowPrivate {
			t.Fatalf("admin allowPrivate: %+v %v", c, err)
		}
		// Oversized settings and secrets.
		big := strings.Repeat("x", MaxSecretBytes+1)
		_, err = s.Configure(ctx, "sales", "notifier", ConfigInput{Settings: json.RawMessage(`{"channel": "` + strings.Repeat("x", MaxSettingsBytes) + `"}`),
			Secrets: map[string]*string{"token": &big}}, "u1", false)
		if !errors.As(err, &re) || len(re.Details) != 2 || re.Details[0].Code != "max_length" || re.Details[1].Code != "max_length" || strings.Contains(err.Error(), big) {
			t.Fatalf("oversized: %v", err)
		}
		// Unknown plugin, unknown app.
		if _, err := s.Configure(ctx, "sales", "absent", ConfigInput{}, "u1", false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown plugin: %v", err)
		}
		if _, err := s.Configure(ctx, "nowhere", "notifier", ConfigInput{}, "u1", false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown app: %v", err)
		}
		if _, err := s.Config(ctx, "sales", "absent"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("config of unknown plugin: %v", err)
		}
	})
}

func TestDecodeConfigInput(t *testing.T) {
	in, err := DecodeConfigInput([]byte(`{"enabled": true, "settings": {"a": 1}, "secrets": {"token": "x", "old": null}}`))
	if err != nil || !*in.Enabled || in.Secrets["old"] != nil || *in.Secrets["token"] != "x" {
		t.Fatalf("%+v %v", in, err)
	}
	for body, path := range map[string]string{
		`{"enabled": true,}`:                   "",
		`{"enabled": true, "enabled": false}`:  "/enabled",
		`{"secrets": {"token": "a\ud800"}}`:    "/secrets/token",
		`{"settings": [1]}`:                    "/settings",
		`{"settings": "x"}`:                    "/settings",
		`{"secrets": {"token": 5}}`:            "",
		`{"owner": "me"}`:                      "",
		`[]`:                                   "",
		"{\"secrets\": {\"token\": \"\xff\"}}": "/secrets/token",
	} {
		_, err := DecodeConfigInput([]byte(body))
		var re *RefusedError
		if !errors.As(err, &re) || re.Status != 422 || len(re.Details) != 1 || re.Details[0].Path != path {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// TestRemoveInUse: a plugin an automation (or a variant of one, or a
// connector) uses cannot be removed; the refusal names them.
func TestRemoveInUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, Options{AllowUnsigned: true}, nil)
		pkg, _ := Load(writeFolder(t, pluginFiles("1.0.0")))
		if _, err := s.Install(ctx, pkg, "admin", true); err != nil {
			t.Fatal(err)
		}
		applyApp(t, db, "sales", []schema.Automation{pluginAutomation("notify_lead", "notifier", false)}, nil)
		applyApp(t, db, "shop", []schema.Automation{pluginAutomation("ab_test", "notifier", true)},
			[]schema.Connector{{Name: "website", Plugin: "notifier", Trigger: "x", Entity: "lead", Mapping: map[string]string{"title": "name"}}})
		list, err := s.List(ctx)
		if err != nil || len(list) != 1 || len(list[0].UsedBy) != 3 {
			t.Fatalf("list %+v %v", list, err)
		}
		err = s.Remove(ctx, "notifier", "admin")
		if !errors.Is(err, ErrInUse) || refusedCode(err) != CodeInUse {
			t.Fatalf("remove in use: %v", err)
		}
		for _, name := range []string{"sales/notify_lead", "shop/ab_test", "shop/website"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("the refusal does not name %s: %v", name, err)
			}
		}
		// Once no app uses it, it goes, with its configurations.
		applyApp(t, db, "sales", nil, nil)
		applyApp(t, db, "shop", nil, nil)
		if _, err := s.Configure(ctx, "sales", "notifier", ConfigInput{Secrets: map[string]*string{"token": str("12345678")}}, "u", false); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(ctx, "notifier", "admin"); err != nil {
			t.Fatalf("remove: %v", err)
		}
		var n int64
		db.Gorm.Table("_forma_plugin_apps").Count(&n)
		if n != 0 {
			t.Errorf("%d configurations left", n)
		}
		if err := s.Remove(ctx, "notifier", "admin"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("remove absent: %v", err)
		}
	})
}

func TestBuiltins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		builtins := fstest.MapFS{}
		for n, c := range pluginFiles("1.0.0") {
			builtins["notifier/"+n] = &fstest.MapFile{Data: []byte(c)}
		}
		builtins["README.md"] = &fstest.MapFile{Data: []byte("not a plugin")}
		s := newService(t, db, Options{Builtins: builtins, AllowUnsigned: true}, nil)
		list, err := s.List(ctx)
		if err != nil || len(list) != 1 || !list[0].Builtin || list[0].Version != "1.0.0" {
			t.Fatalf("list %+v %v", list, err)
		}
		at := list[0].InstalledAt
		if err := s.Remove(ctx, "notifier", "admin"); !errors.Is(err, ErrBuiltin) || refusedCode(err) != CodeBuiltin {
			t.Fatalf("remove builtin: %v", err)
		}
		pkg, _ := Load(writeFolder(t, pluginFiles("9.0.0")))
		if _, err := s.Install(ctx, pkg, "admin", true); !errors.Is(err, ErrBuiltin) {
			t.Fatalf("install over a builtin: %v", err)
		}
		// The same built-ins again: nothing is written.
		db.Clock = clock.NewTest(at.Add(time.Hour))
		s = newService(t, db, Options{Builtins: builtins}, nil)
		if list, _ := s.List(ctx); !list[0].InstalledAt.Equal(at) {
			t.Fatalf("reinstalled unchanged: %v vs %v", list[0].InstalledAt, at)
		}
		// A new binary with a changed built-in upgrades it.
		builtins["notifier/plugin.json"] = &fstest.MapFile{Data: []byte(manifestV("1.1.0"))}
		s = newService(t, db, Options{Builtins: builtins}, nil)
		if list, _ := s.List(ctx); list[0].Version != "1.1.0" || !list[0].Builtin {
			t.Fatalf("upgraded %+v", list[0])
		}
		// A broken built-in stops the start with its problems.
		builtins["notifier/plugin.json"] = &fstest.MapFile{Data: []byte(`{"name": "notifier"}`)}
		_, err = New(ctx, db, store.NewCatalog(db), nil, nil, Options{SecretKey: testSecretKey, Builtins: builtins}, nil)
		if err == nil || !strings.Contains(err.Error(), `"version"`) {
			t.Fatalf("broken builtin: %v", err)
		}
	})
}

func TestSecretKeySources(t *testing.T) {
	db := storetest.SQLite(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "sub", "secret.key")
	t.Setenv(EnvSecretKey, "")
	s := newService(t, db, Options{KeyFile: file}, nil)
	// Created when a secret is first sealed, not before.
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("key file made before it is needed: %v", err)
	}
	sealed, err := s.seal([]byte("x"), "aad")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", st, err)
	}
	again := newService(t, db, Options{KeyFile: file}, nil)
	if plain, err := again.unseal(sealed, "aad"); err != nil || string(plain) != "x" || !bytes.Equal(s.key, again.key) {
		t.Fatalf("the key file is not reused: %v", err)
	}
	envKey := bytes.Repeat([]byte{3}, SecretKeyBytes)
	t.Setenv(EnvSecretKey, base64.StdEncoding.EncodeToString(envKey))
	if e := newService(t, db, Options{KeyFile: file}, nil); !bytes.Equal(e.key, envKey) {
		t.Fatal("FORMA_SECRET_KEY is not used")
	}
	for _, bad := range []string{"short", base64.StdEncoding.EncodeToString([]byte("sixteen bytes!!!"))} {
		t.Setenv(EnvSecretKey, bad)
		_, err := New(context.Background(), db, store.NewCatalog(db), nil, nil, Options{KeyFile: file}, nil)
		if err == nil || strings.Contains(err.Error(), bad) {
			t.Errorf("bad env key %q: %v", bad, err)
		}
	}
	t.Setenv(EnvSecretKey, "")
	os.WriteFile(file, []byte("garbage"), 0o600)
	if _, err := New(context.Background(), db, store.NewCatalog(db), nil, nil, Options{KeyFile: file}, nil); err == nil {
		t.Error("a garbage key file is used")
	}
	if _, err := New(context.Background(), db, store.NewCatalog(db), nil, nil, Options{SecretKey: []byte("short")}, nil); err == nil {
		t.Error("a short key is used")
	}
}

// TestLimitsAgree: the manifest check and the runtime share the maxima.
func TestLimitsAgree(t *testing.T) {
	if schema.PluginMaxTimeoutMs != int(MaxTimeout/time.Millisecond) || schema.PluginMaxRequests != MaxRequests || schema.PluginMaxResponseKB != MaxResponseKB {
		t.Fatal("schema's plugin maxima differ from engine/plugin's")
	}
}
