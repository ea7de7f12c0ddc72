package api

import (
	"encoding/hex"
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/webhook"
)

// Audit actions of the webhook routes. They live here rather than in
// engine/access because only these routes write them.
const (
	AuditWebhookSecretRead   = "webhook_secret_read"
	AuditWebhookSecretRotate = "webhook_secret_rotate"
	AuditWebhookSettings     = "webhook_settings"
)

// webhookRoutes are an app's webhook signing secret (for the app's
// designers: the same admins who write the app's automations) and the
// platform admin's allowance for private addresses.
func (s *Server) webhookRoutes(meta fiber.Router, app *fiber.App) {
	if s.Webhooks == nil {
		s.Webhooks = webhook.New(s.DB)
	}
	meta.Get("/apps/:app/webhook-secret", s.requireAdmin, s.getWebhookSecret)
	meta.Post("/apps/:app/webhook-secret/rotate", s.requireAdmin, s.rotateWebhookSecret)
	adm := app.Group("/api/admin/apps", s.requireUser, s.requireAdmin)
	adm.Get("/:app/webhooks", s.getWebhookSettings)
	adm.Put("/:app/webhooks", s.putWebhookSettings)
}

// webhookApp checks that the app exists (the unknown app's 404 otherwise)
// and returns its name.
func (s *Server) webhookApp(c *fiber.Ctx) (string, error) {
	app := c.Params("app")
	if _, err := s.Catalog.App(c.UserContext(), app); err != nil {
		return "", err
	}
	return app, nil
}

// getWebhookSecret answers {"secret": "<64 hex digits>"}, creating the
// secret on first use. Reading it is audited (without the secret): it is
// what lets anyone forge the app's deliveries.
func (s *Server) getWebhookSecret(c *fiber.Ctx) error {
	app, err := s.webhookApp(c)
	if err != nil {
		return err
	}
	sec, err := s.Webhooks.Secret(c.UserContext(), app)
	if err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: AuditWebhookSecretRead, Target: app})
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"secret": hex.EncodeToString(sec)})
}

// rotateWebhookSecret replaces the secret: {"secret": "<the new one>"}.
// Deliveries from then on are signed with it.
func (s *Server) rotateWebhookSecret(c *fiber.Ctx) error {
	if len(c.Body()) > 0 {
		var none struct{}
		if err := decodeStrict(c.Body(), &none); err != nil {
			return err
		}
	}
	app, err := s.webhookApp(c)
	if err != nil {
		return err
	}
	sec, err := s.Webhooks.Rotate(c.UserContext(), app)
	if err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: AuditWebhookSecretRotate, Target: app})
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"secret": hex.EncodeToString(sec)})
}

// maxSettingsBody bounds the settings body, a one-field object.
const maxSettingsBody = 1 << 10

type webhookSettings struct {
	AllowPrivate *bool `json:"allowPrivate"`
}

// getWebhookSettings answers {"allowPrivate": bool}.
func (s *Server) getWebhookSettings(c *fiber.Ctx) error {
	app, err := s.webhookApp(c)
	if err != nil {
		return err
	}
	allow, err := s.Webhooks.AllowsPrivate(c.UserContext(), app)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"allowPrivate": allow})
}

// putWebhookSettings sets the allowance from {"allowPrivate": bool} (the
// field is required; nothing else is accepted) and answers it.
func (s *Server) putWebhookSettings(c *fiber.Ctx) error {
	if len(c.Body()) > maxSettingsBody {
		return apiError(413, "payload_too_large", "the request body is too large")
	}
	var in webhookSettings
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	// encoding/json matches keys without regard to case; the contract's
	// spelling is the only one taken.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(c.Body(), &keys); err != nil {
		return apiError(400, "invalid_json", "the body is not a JSON object")
	}
	if _, ok := keys["allowPrivate"]; !ok || len(keys) != 1 || in.AllowPrivate == nil {
		return apiError(422, "validation_failed", "the body must be {\"allowPrivate\": true or false}")
	}
	app, err := s.webhookApp(c)
	if err != nil {
		return err
	}
	before, err := s.Webhooks.AllowsPrivate(c.UserContext(), app)
	if err != nil {
		return err
	}
	if err := s.Webhooks.SetAllowPrivate(c.UserContext(), app, *in.AllowPrivate, user(c).ID); err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: AuditWebhookSettings, Target: app,
		Detail: map[string]bool{"allowPrivate": *in.AllowPrivate, "before": before}})
	return c.JSON(fiber.Map{"allowPrivate": *in.AllowPrivate})
}
