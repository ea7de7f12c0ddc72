package records

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/formaapp/forma/schema"
)

// A list's plan — the caller's read grant, the fields, the sort, the
// filter parsed and compiled, the statement's text — depends only on the
// app document's version, the entity, who the caller is (user, team,
// roles, admin) and the query's text. A sales manager opens the same list
// all day, so the plan is kept instead of being built on every request:
// building it (the role rules and the filter compiled, the statement
// written) was a tenth of a list's own work on PostgreSQL.
//
// Nothing in it can go stale without its key changing: the document is
// named by version (a document being applied is never cached, see
// Service.applying), and the page's statement still reads the app's
// version (versionProbe), so a migration another process committed is
// seen by the statement and the request runs again on the new document,
// under another key. The caller's identity comes from authentication,
// which confirms itself (Caller.Confirm) before the page is answered; a
// caller with other roles or another team has another key. No plan reads
// the database or the clock (filters have @me, no "now"). Only the
// cursor, which changes from page to page, is applied per request.

// maxCachedPlans bounds the cache: keys are users × lists in use.
const maxCachedPlans = 4096

type planCache struct {
	plans sync.Map // planKey → *listPlan
	n     atomic.Int64
	mu    sync.Mutex // one reset at a time
}

// pagePlan returns the plan of page q for c, from the cache when it can;
// scope (nil: none) replaces the caller's row rules (ListScoped) and is
// never cached: its condition comes from its caller, not from the key.
func (s *Service) pagePlan(info *entityInfo, c Caller, q Query, scope *Scope) (*listPlan, error) {
	key := ""
	cacheable := scope == nil
	if _, applying := s.applying.Load(info.app); applying {
		cacheable = false
	}
	if cacheable {
		key = planKey(info, c, q)
		if v, ok := s.plans.plans.Load(key); ok {
			return withCursor(s, v.(*listPlan), q)
		}
	}
	g, err := s.grant(info, c, schema.OpRead)
	if err == nil && g.none {
		err = forbidden("you may not read %s records", info.entity.Name)
	}
	if err != nil {
		return nil, err
	}
	if scope != nil {
		g = &grant{where: "(" + scope.Where + ")", args: scope.Args}
	}
	cq := q
	cq.Cursor = ""
	lp, err := s.planList(info, g, c, cq)
	if err != nil {
		return nil, err
	}
	if cacheable {
		s.plans.store(key, lp)
	}
	return withCursor(s, lp, q)
}

// withCursor returns lp for the page after q's cursor: a copy, since lp
// may be shared.
func withCursor(s *Service, lp *listPlan, q Query) (*listPlan, error) {
	if q.Cursor == "" {
		return lp, nil
	}
	cp := *lp
	var err error
	if cp.cursor, cp.cargs, err = s.cursorWhere(cp.info, cp.keys, cp.check, q); err != nil {
		return nil, err
	}
	return &cp, nil
}

func (c *planCache) store(key string, lp *listPlan) {
	if c.n.Add(1) > maxCachedPlans {
		// Full: start again rather than track use. Lists in use come
		// back at the cost of one plan each.
		c.mu.Lock()
		if c.n.Load() > maxCachedPlans {
			c.plans.Clear()
			c.n.Store(1)
		}
		c.mu.Unlock()
	}
	c.plans.Store(key, lp)
}

// planKey names everything a list's plan is built from: the entity at its
// document's version (info.key), the caller's identity and the query
// without its cursor. Each part is written with its length, so no text
// inside one can pass for another.
func planKey(info *entityInfo, c Caller, q Query) string {
	var b strings.Builder
	part := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	part(info.key)
	if c.Admin {
		part("admin")
	} else {
		part("")
	}
	part(c.UserID)
	part(c.TeamID)
	b.WriteString(strconv.Itoa(len(c.Roles)))
	for _, r := range c.Roles {
		part(r)
	}
	part(q.Filter)
	part(q.Sort)
	part(strconv.Itoa(q.Limit))
	part(q.Fields)
	part(q.Expand)
	part(q.Count)
	part(q.Totals)
	return b.String()
}
