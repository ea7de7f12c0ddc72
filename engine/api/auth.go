package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/schema/strictjson"
)

const userKey = "forma.user"

// user returns the authenticated user of the request.
func user(c *fiber.Ctx) *access.User {
	u, _ := c.Locals(userKey).(*access.User)
	return u
}

func caller(c *fiber.Ctx) records.Caller {
	u := user(c)
	cl := records.Caller{UserID: u.ID, Admin: u.Admin, Roles: u.Roles, TeamID: u.TeamID}
	// The web UI names itself so the history can say "web" rather than
	// "API"; it is a label for people, not a permission.
	if c.Get(webClientHeader) == "web" {
		cl.Path = records.PathWeb
	}
	return cl
}

// webClientHeader is sent by the web UI on every API call.
const webClientHeader = "X-Forma-Client"

func bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// requireUser refuses a request without a valid token with 401.
func (s *Server) requireUser(c *fiber.Ctx) error {
	tok := bearer(c)
	if tok == "" {
		return apiError(401, "unauthorized", "send Authorization: Bearer <token>; get a token from POST /api/auth/login")
	}
	u, err := s.Access.Authenticate(c.UserContext(), tok)
	if err != nil {
		return err
	}
	c.Locals(userKey, u)
	return c.Next()
}

// confirmKey holds, for a request that requireCachedUser let in, the
// *records.Confirm its statement must read.
const confirmKey = "forma.confirm"

// requireCachedUser is requireUser for a handler that confirms the
// authentication itself (listRecords): a token this server has cached is
// let in without the auth epoch's read, and the handler reads the epoch in
// its own statement (records.Caller.Confirm) and authenticates anew when it
// moved. A token not cached is authenticated as requireUser does.
func (s *Server) requireCachedUser(c *fiber.Ctx) error {
	tok := bearer(c)
	if tok == "" {
		return apiError(401, "unauthorized", "send Authorization: Bearer <token>; get a token from POST /api/auth/login")
	}
	u, epoch, err := s.Access.AuthenticateCached(c.UserContext(), tok)
	if err != nil {
		return err
	}
	c.Locals(userKey, u)
	if epoch != 0 {
		c.Locals(confirmKey, &records.Confirm{Probe: access.EpochProbe, Want: epoch})
	}
	return c.Next()
}

// unconfirmed is the confirmation the request still owes (nil: none).
func unconfirmed(c *fiber.Ctx) *records.Confirm {
	cf, _ := c.Locals(confirmKey).(*records.Confirm)
	return cf
}

// confirmUser authenticates the request anew (the auth epoch read on its
// own), for a handler whose cached authentication could not be confirmed.
func (s *Server) confirmUser(c *fiber.Ctx) error {
	u, err := s.Access.Authenticate(c.UserContext(), bearer(c))
	if err != nil {
		return err
	}
	c.Locals(userKey, u)
	c.Locals(confirmKey, nil)
	return nil
}

func (s *Server) requireAdmin(c *fiber.Ctx) error {
	if !user(c).Admin {
		return apiError(403, "forbidden", "only an admin may do this")
	}
	return c.Next()
}

// decodeStrict parses a JSON body into v, refusing unknown fields, trailing
// data and wrong types with a 400 or 422 that says where.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case asType(err, &te):
			return apiError(422, "validation_failed", "%s must be %s", te.Field, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return apiError(422, "validation_failed", "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return apiError(400, "invalid_json", "the body is not valid JSON: %v", err)
	}
	if dec.More() {
		return apiError(400, "invalid_json", "the body holds more than one JSON value")
	}
	return strictBody(body)
}

// strictBody refuses, with a 422 at the JSON pointer, a body that
// encoding/json read but would have altered: invalid UTF-8, NUL, lone
// surrogate escapes, a key given twice (schema/strictjson).
func strictBody(body []byte) error {
	err := strictjson.Check(body)
	var se *strictjson.Error
	if !errors.As(err, &se) {
		return nil
	}
	return &Error{Status: 422, Code: "validation_failed", Message: "the body cannot be read as sent: " + se.Error(),
		Details: []schema.Problem{{Path: se.Pointer, Code: "invalid_json", Message: se.Message}}}
}

func asType(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

func (s *Server) login(c *fiber.Ctx) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	err := decodeStrict(c.Body(), &in)
	if err == nil && (in.Email == "" || in.Password == "") {
		err = apiError(422, "validation_failed", "email and password are required")
	}
	if err != nil {
		return s.refuseLogin(c, err)
	}
	tok, exp, u, err := s.Access.LoginFrom(c.UserContext(), in.Email, in.Password, c.IP())
	s.loginAudit(c, in.Email, u, err)
	var te *access.ThrottledError
	if errors.As(err, &te) {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(te.RetryAfter.Seconds()))))
		return apiError(429, "too_many_attempts", "%s", te.Error())
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"token": tok, "expiresAt": exp, "user": u})
}

// refuseLogin answers a login refused for its body, before any password
// was looked at. It still counts as a failed attempt, for the client's
// address and, when the body names an email that can be read as sent, for
// that account, and it is audited as login_failed with the refusal's code:
// malformed attempts are throttled and seen like wrong passwords. Once a
// key is past its limit the answer is the 429 of any throttled login.
func (s *Server) refuseLogin(c *fiber.Ctx, refusal error) error {
	email, problem := loginEmail(c.Body())
	err := s.Access.CountRefusedLogin(c.UserContext(), email, c.IP())
	var te *access.ThrottledError
	switch {
	case errors.As(err, &te):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(te.RetryAfter.Seconds()))))
		refusal = apiError(429, "too_many_attempts", "%s", te.Error())
	case err != nil:
		s.Log.Error("count a refused login", "err", err)
	}
	detail := map[string]string{"reason": toAPIError(refusal).Code}
	if problem != "" {
		detail["email"] = problem
	}
	s.audit(c, access.Entry{Action: access.AuditLoginFailed, Target: strings.ToLower(strings.TrimSpace(email)), Detail: detail})
	return refusal
}

// loginEmail reads the email of a login body that was refused: "" when
// the body is not JSON or names none; "" and what is wrong with it when
// it is not a string that can be read as sent (invalid UTF-8, NUL, ...).
// Of two "email" keys the last counts, as encoding/json reads them.
func loginEmail(body []byte) (email, problem string) {
	var in struct {
		Email json.RawMessage `json:"email"`
	}
	if json.Unmarshal(body, &in) != nil || len(in.Email) == 0 {
		return "", ""
	}
	if err := strictjson.Check(in.Email); err != nil {
		return "", err.Error()
	}
	if json.Unmarshal(in.Email, &email) != nil {
		return "", "not a string"
	}
	return email, ""
}

func (s *Server) setup(c *fiber.Ctx) error {
	var in struct {
		Token    string `json:"token"`
		Email    string `json:"email"`
		Password string `json:"password"`
		Name     string `json:"name"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	u, err := s.Access.Setup(c.UserContext(), in.Token, in.Email, in.Password, in.Name)
	if err != nil {
		return err
	}
	return c.Status(201).JSON(fiber.Map{"user": u})
}

func (s *Server) logout(c *fiber.Ctx) error {
	if err := s.Access.Logout(c.UserContext(), bearer(c)); err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditLogout, Target: user(c).Email})
	return c.SendStatus(204)
}

func (s *Server) me(c *fiber.Ctx) error { return c.JSON(user(c)) }

func (s *Server) listTokens(c *fiber.Ctx) error {
	toks, err := s.Access.Tokens(c.UserContext(), user(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": toks})
}

func (s *Server) createToken(c *fiber.Ctx) error {
	var in struct {
		Name          string `json:"name"`
		ExpiresInDays int    `json:"expiresInDays"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	if in.ExpiresInDays < 0 || in.ExpiresInDays > 3650 {
		return apiError(422, "validation_failed", "expiresInDays must be between 0 (never) and 3650")
	}
	tok, info, err := s.Access.CreateAPIToken(c.UserContext(), user(c).ID, in.Name, time.Duration(in.ExpiresInDays)*24*time.Hour)
	if err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditTokenCreate, Target: info.ID,
		Detail: map[string]any{"name": info.Name, "expiresAt": info.ExpiresAt}})
	return c.Status(201).JSON(fiber.Map{"token": tok, "info": info})
}

func (s *Server) revokeToken(c *fiber.Ctx) error {
	if err := s.Access.RevokeToken(c.UserContext(), user(c).ID, c.Params("id")); err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditTokenRevoke, Target: strings.ToLower(c.Params("id"))})
	return c.SendStatus(204)
}
