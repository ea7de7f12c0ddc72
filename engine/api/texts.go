package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/flow"
	"github.com/formaapp/forma/schema"
)

// The designer's own words — a validation's message, a transition's guard
// message — may come in several languages (schema "messages",
// "guardMessages"); the engine carries every variant with the problem, and
// the API answers the one of the reader's language (Accept-Language, as
// for dashboard CSV heads), else the single string.

// readerLanguage is the UI language a request asks for, or "" when it
// names none (no Accept-Language): such a reader gets the single string,
// the text as the designer wrote it first.
func readerLanguage(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAcceptLanguage)
	if strings.TrimSpace(h) == "" {
		return ""
	}
	return language(h)
}

// localize returns e with its details in lang. The details are copied
// when one changes: the error may be a shared value.
func localize(e *Error, lang string) *Error {
	var out []schema.Problem
	for i, p := range e.Details {
		m := p.Messages.In(lang, p.Message)
		if m == p.Message {
			continue
		}
		if out == nil {
			out = append([]schema.Problem(nil), e.Details...)
		}
		out[i].Message = m
	}
	if out == nil {
		return e
	}
	c := *e
	c.Details = out
	return &c
}

// localizeLacks says what each option lacks in lang.
func localizeLacks(av *flow.Available, lang string) {
	for i := range av.Items {
		for j := range av.Items[i].Lacks {
			l := &av.Items[i].Lacks[j]
			l.Message = l.Messages.In(lang, l.Message)
		}
	}
}
