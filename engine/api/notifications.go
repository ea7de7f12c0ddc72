package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/formaapp/forma/engine/notify"
)

// NotificationPoll is how often a notification stream reads its user's
// unread count. The count lives in the database, written by whichever
// server ran the automation, so every stream polls it rather than trusting
// any one process's memory: with several servers on one PostgreSQL each
// stream still sees every change, at most this late. One indexed COUNT per
// open stream per poll.
var NotificationPoll = 2 * time.Second

// NotificationStreamLife is how long one stream lasts before the server
// ends it cleanly; the client then reconnects (and gets the count again at
// once). The server's write timeout (DefaultWriteTimeout) bounds every
// response, a stream included: ended by the server first, a stream closes
// properly instead of being cut off mid-chunk.
var NotificationStreamLife = DefaultWriteTimeout - 5*time.Second

// notificationKeepAlive is how often an idle stream sends a comment line,
// so proxies keep it open and a gone client is noticed.
const notificationKeepAlive = 15 * time.Second

// notificationRoutes serves a user's own in-app notifications. Every route
// reads and changes only the caller's notifications.
func (s *Server) notificationRoutes(app *fiber.App) {
	if s.Notify == nil {
		s.Notify = notify.New(s.DB, s.Access)
	}
	g := app.Group("/api/me/notifications", s.requireUser)
	g.Get("", s.listNotifications)
	g.Get("/stream", s.notificationStream)
	g.Post("/read-all", s.readAllNotifications)
	g.Post("/:id/read", s.readNotification)
	// Any other method on these paths is a 405 naming the one allowed,
	// rather than the catch-all's "no such route".
	g.All("", notAllowed("GET"))
	g.All("/stream", notAllowed("GET"))
	g.All("/read-all", notAllowed("POST"))
	g.All("/:id/read", notAllowed("POST"))
}

func notAllowed(allow string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderAllow, allow)
		return apiError(405, "method_not_allowed", "%s is not allowed here; use %s", c.Method(), allow)
	}
}

// listNotifications answers GET /api/me/notifications?unread=1&limit=&cursor=
// → {"items": [...], "unread": n, "nextCursor": "…"|null}, newest first,
// each message in the reader's language (Accept-Language) when it was
// sent in it, else as sent.
func (s *Server) listNotifications(c *fiber.Ctx) error {
	unread, err := boolParam(c, "unread")
	if err != nil {
		return err
	}
	limit, err := limitParam(c, notify.MaxLimit)
	if err != nil {
		return err
	}
	ctx, me := c.UserContext(), user(c).ID
	page, err := s.Notify.List(ctx, me, notify.Query{Unread: unread, Limit: limit, Cursor: c.Query("cursor")})
	if errors.Is(err, notify.ErrBadCursor) {
		return apiError(400, "invalid_query", "cursor is not one this list handed out")
	}
	if err != nil {
		return err
	}
	n, err := s.Notify.Unread(ctx, me)
	if err != nil {
		return err
	}
	lang := readerLanguage(c)
	for i := range page.Items {
		it := &page.Items[i]
		it.Message = it.Messages.In(lang, it.Message)
	}
	var next *string
	if page.NextCursor != "" {
		next = &page.NextCursor
	}
	return c.JSON(fiber.Map{"items": page.Items, "unread": n, "nextCursor": next})
}

// readNotification answers POST /api/me/notifications/{id}/read → {"unread": n}.
// Another user's id and an unknown one are the same 404.
func (s *Server) readNotification(c *fiber.Ctx) error {
	ctx, me := c.UserContext(), user(c).ID
	err := s.Notify.MarkRead(ctx, me, c.Params("id"))
	if errors.Is(err, notify.ErrNotFound) {
		return apiError(404, "not_found", "no such notification")
	}
	if err != nil {
		return err
	}
	return s.unreadAnswer(c)
}

// readAllNotifications answers POST /api/me/notifications/read-all →
// {"marked": n, "unread": 0}.
func (s *Server) readAllNotifications(c *fiber.Ctx) error {
	ctx, me := c.UserContext(), user(c).ID
	marked, err := s.Notify.MarkAllRead(ctx, me)
	if err != nil {
		return err
	}
	n, err := s.Notify.Unread(ctx, me)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"marked": marked, "unread": n})
}

func (s *Server) unreadAnswer(c *fiber.Ctx) error {
	n, err := s.Notify.Unread(c.UserContext(), user(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"unread": n})
}

// notificationStream answers GET /api/me/notifications/stream: server-sent
// events, an "unread" event with {"unread": n} at once and again whenever
// the count changes (read every NotificationPoll), for NotificationStreamLife;
// the client reconnects after. It authenticates like
// every route (Authorization: Bearer; the web UI reads the stream through
// fetch, as it does the dashboards' events) and checks the token again at
// every poll, so a stream ends when its session is revoked or its user
// deactivated.
func (s *Server) notificationStream(c *fiber.Ctx) error {
	me, tok := user(c).ID, bearer(c)
	first, err := s.Notify.Unread(c.UserContext(), me)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		// The request's context ends with the handler; the stream runs on.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		send := func(n int64) bool {
			b, _ := json.Marshal(fiber.Map{"unread": n})
			fmt.Fprintf(w, "event: unread\ndata: %s\n\n", b)
			return w.Flush() == nil
		}
		fmt.Fprint(w, "retry: 2000\n")
		if !send(first) {
			return
		}
		last := first
		poll := time.NewTicker(NotificationPoll)
		defer poll.Stop()
		keepAlive := time.NewTicker(notificationKeepAlive)
		defer keepAlive.Stop()
		life := time.NewTimer(NotificationStreamLife)
		defer life.Stop()
		for {
			select {
			case <-life.C:
				return // the client reconnects
			case <-poll.C:
				if u, err := s.Access.Authenticate(ctx, tok); err != nil || u.ID != me {
					return // revoked, expired or deactivated: the client reconnects and gets its 401
				}
				n, err := s.Notify.Unread(ctx, me)
				if err != nil {
					s.Log.Warn("notification stream: count unread", "err", err)
					continue
				}
				if n != last {
					last = n
					if !send(n) {
						return // the client went away
					}
				}
			case <-keepAlive.C:
				fmt.Fprint(w, ": keep-alive\n\n")
				if w.Flush() != nil {
					return
				}
			}
		}
	}))
	return nil
}
