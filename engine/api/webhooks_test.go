package api_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/webhook"
)

const (
	secretPath   = "/api/meta/apps/kit/webhook-secret"
	settingsPath = "/api/admin/apps/kit/webhooks"
)

func TestWebhookSecretAPI(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		st, body := e.do("GET", secretPath, nil)
		if st != 200 {
			t.Fatalf("GET secret: %d %v", st, body)
		}
		first, _ := body["secret"].(string)
		if b, err := hex.DecodeString(first); err != nil || len(b) != webhook.SecretBytes {
			t.Fatalf("secret %q", first)
		}
		// Stable, and the one deliveries are signed with.
		if _, body = e.do("GET", secretPath, nil); body["secret"] != first {
			t.Fatalf("the secret changed between reads")
		}
		stored, err := webhook.New(e.db).Secret(ctx, "kit")
		if err != nil || hex.EncodeToString(stored) != first {
			t.Fatalf("stored secret differs: %v", err)
		}
		st, body = e.do("POST", secretPath+"/rotate", nil)
		rotated, _ := body["secret"].(string)
		if st != 200 || len(rotated) != 64 || rotated == first {
			t.Fatalf("rotate: %d %v", st, body)
		}
		if _, body = e.do("GET", secretPath, nil); body["secret"] != rotated {
			t.Fatalf("GET after rotate: %v", body["secret"])
		}
		// Both are audited, without the secret.
		page, err := e.acc.AuditLog(ctx, access.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var rotations, reads int
		for _, a := range page.Items {
			switch a.Action {
			case "webhook_secret_rotate":
				rotations++
			case "webhook_secret_read":
				reads++
			}
			if strings.Contains(string(a.Detail), first) || strings.Contains(string(a.Detail), rotated) || a.Target != "kit" && strings.HasPrefix(a.Action, "webhook") {
				t.Errorf("audit entry %+v holds the secret or the wrong target", a)
			}
		}
		if rotations != 1 || reads != 3 {
			t.Errorf("audited %d rotations, %d reads; want 1, 3", rotations, reads)
		}
	})
}

func TestWebhookSecretAPIRefusals(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "rep password 123", Name: "Rep", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 123")
		_, body := e.do("GET", secretPath, nil)
		secret := body["secret"].(string)
		for _, r := range []struct{ m, p string }{{"GET", secretPath}, {"POST", secretPath + "/rotate"}} {
			st, body := e.doAs("", r.m, r.p, nil)
			wantErr(t, r.m+" unauthenticated", st, body, 401, "unauthorized")
			st, body = e.doAs(rep, r.m, r.p, nil)
			wantErr(t, r.m+" as a rep", st, body, 403, "forbidden")
			st, body = e.doAs(rep, r.m, strings.Replace(r.p, "/kit/", "/nope/", 1), nil)
			wantErr(t, r.m+" as a rep, unknown app", st, body, 403, "forbidden") // no app existence learnt
			st, body = e.do(r.m, strings.Replace(r.p, "/kit/", "/nope/", 1), nil)
			wantErr(t, r.m+" unknown app", st, body, 404, "not_found")
			st, body = e.do(r.m, strings.Replace(r.p, "/kit/", "/kit'%20OR%20'1'='1/", 1), nil)
			wantErr(t, r.m+" injected app", st, body, 404, "not_found")
		}
		// Rotate takes no body; a body is at most an empty object.
		for _, bad := range []struct {
			body   string
			status int
		}{{`{"secret":"mine"}`, 422}, {`{`, 400}, {`[]`, 422}, {`{} {}`, 400}} {
			st, body := e.do("POST", secretPath+"/rotate", bad.body)
			if st != bad.status {
				t.Errorf("rotate with %s: %d %v", bad.body, st, body)
			}
		}
		if st, _ := e.do("POST", secretPath+"/rotate", `{}`); st != 200 {
			t.Errorf("rotate with {}: %d", st)
		}
		// The refusals did not rotate it: only the one accepted rotate did.
		page, _ := e.acc.AuditLog(ctx, access.AuditQuery{Action: "webhook_secret_rotate"})
		if len(page.Items) != 1 {
			t.Errorf("%d rotations audited, want 1", len(page.Items))
		}
		if now, _ := webhook.New(e.db).Secret(ctx, "kit"); hex.EncodeToString(now) == secret {
			t.Errorf("the accepted rotate did not change the secret")
		}
		// The app "nope" got no secret row from the refused calls.
		var n int64
		e.db.Gorm.Table("_forma_webhook_secrets").Where("app = ?", "nope").Count(&n)
		if n != 0 {
			t.Errorf("a refused call created a secret for an unknown app")
		}
	})
}

func TestWebhookSettingsAPI(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		wh := webhook.New(e.db)
		st, body := e.do("GET", settingsPath, nil)
		if st != 200 || body["allowPrivate"] != false {
			t.Fatalf("GET default: %d %v", st, body)
		}
		st, body = e.do("PUT", settingsPath, `{"allowPrivate": true}`)
		if st != 200 || body["allowPrivate"] != true {
			t.Fatalf("PUT true: %d %v", st, body)
		}
		if a, _ := wh.AllowsPrivate(ctx, "kit"); !a {
			t.Fatal("not stored")
		}
		if _, body = e.do("GET", settingsPath, nil); body["allowPrivate"] != true {
			t.Fatalf("GET after PUT: %v", body)
		}
		page, _ := e.acc.AuditLog(ctx, access.AuditQuery{Action: "webhook_settings"})
		if len(page.Items) != 1 || page.Items[0].Target != "kit" || !strings.Contains(string(page.Items[0].Detail), `"allowPrivate":true`) {
			t.Fatalf("audit: %+v", page.Items)
		}

		if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "rep password 123", Name: "Rep", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 123")
		for _, m := range []string{"GET", "PUT"} {
			st, body := e.doAs("", m, settingsPath, `{"allowPrivate": false}`)
			wantErr(t, m+" unauthenticated", st, body, 401, "unauthorized")
			st, body = e.doAs(rep, m, settingsPath, `{"allowPrivate": false}`)
			wantErr(t, m+" as a rep", st, body, 403, "forbidden")
			st, body = e.do(m, "/api/admin/apps/nope/webhooks", `{"allowPrivate": false}`)
			wantErr(t, m+" unknown app", st, body, 404, "not_found")
		}
		for _, bad := range []struct {
			body   string
			status int
			code   string
		}{
			{``, 400, "invalid_json"},
			{`{`, 400, "invalid_json"},
			{`not json`, 400, "invalid_json"},
			{`{}`, 422, "validation_failed"},
			{`{"allowPrivate": null}`, 422, "validation_failed"},
			{`{"allowPrivate": "false"}`, 422, "validation_failed"},
			{`{"allowPrivate": 0}`, 422, "validation_failed"},
			{`{"allowPrivate": false, "extra": 1}`, 422, "validation_failed"},
			{`{"allowprivate": false}`, 422, "validation_failed"},
			{`{"allowPrivate": false, "allowPrivate": true}`, 422, "validation_failed"},
			{`{"allowPrivate": false} {"allowPrivate": true}`, 400, "invalid_json"},
			{`[false]`, 422, "validation_failed"},
			{`{"allowPrivate": false, "x": "` + strings.Repeat("a", 2000) + `"}`, 413, "payload_too_large"},
			{`{"allowPrivate": fal\u0073e}`, 400, "invalid_json"},
			{"{\"allowPrivate\": \"\x00\"}", 400, "invalid_json"},
		} {
			st, body := e.do("PUT", settingsPath, bad.body)
			wantErr(t, "PUT "+clip(bad.body), st, body, bad.status, bad.code)
		}
		st, body = e.announceBody("PUT", settingsPath, 9<<20)
		wantErr(t, "PUT 9 MiB", st, body, 413, "payload_too_large")
		// None of that changed the setting or the audit log.
		if a, _ := wh.AllowsPrivate(ctx, "kit"); !a {
			t.Fatal("a refused PUT changed the setting")
		}
		if page, _ := e.acc.AuditLog(ctx, access.AuditQuery{Action: "webhook_settings"}); len(page.Items) != 1 {
			t.Fatalf("refused PUTs were audited: %d entries", len(page.Items))
		}
		if st, body := e.do("PUT", settingsPath, `{"allowPrivate": false}`); st != 200 || body["allowPrivate"] != false {
			t.Fatalf("PUT false: %d %v", st, body)
		}
		if a, _ := wh.AllowsPrivate(ctx, "kit"); a {
			t.Fatal("still allowed")
		}
	})
}
