package schema

import "regexp"

// Limits on connectors beyond the JSON Schema's.
const (
	MaxConnectors = 50
	// DefaultRateLimit is a connector's accepted submissions per minute
	// per client address when its rateLimit is 0 or absent.
	DefaultRateLimit = 30
	MaxRateLimit     = 10000
)

var connectorName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// EffectiveRateLimit is c's limit per minute per client address.
func (c *Connector) EffectiveRateLimit() int {
	if c.RateLimit <= 0 {
		return DefaultRateLimit
	}
	return c.RateLimit
}

// checkConnectors checks the app's inbound endpoints: names unique, the
// entity, the mapping's and defaults' targets (the entity's own writable
// fields: a caller on the internet must never set an owner, an id or a
// system column), the match field (unique, so an upsert finds at most one
// record), the honeypot, the rate limit and the role. Whether the plugin
// and its trigger are installed is the engine's check (engine/plugin
// CheckApp): it depends on the server, not on the document.
func (c *checker) checkConnectors() {
	a := c.app
	if len(a.Connectors) > MaxConnectors {
		c.p.Add("/connectors", "must have at most %d items", MaxConnectors)
	}
	seen := map[string]string{}
	roles := a.EffectiveRoles()
	for i := range a.Connectors {
		cn := &a.Connectors[i]
		cp := ptr("connectors", i)
		switch {
		case cn.Name == "":
			c.p.Add(cp+"/name", "missing required field %q", "name")
		case !connectorName.MatchString(cn.Name):
			c.p.Add(cp+"/name", "connector name %q must match [a-z][a-z0-9-]{0,62}", cn.Name)
		default:
			if at, dup := seen[cn.Name]; dup {
				c.p.Add(cp+"/name", "duplicate %s name %q (also at %s)", "connector", cn.Name, at)
			} else {
				seen[cn.Name] = cp
			}
		}
		if cn.Plugin == "" {
			c.p.Add(cp+"/plugin", "missing required field %q", "plugin")
		}
		if cn.Trigger == "" {
			c.p.Add(cp+"/trigger", "missing required field %q", "trigger")
		}
		if cn.Role != "" && roles[cn.Role] == nil {
			c.p.Add(cp+"/role", "no role named %q in this app%s", cn.Role, didYouMean(cn.Role, sortedKeys(roles)))
		}
		if cn.RateLimit < 0 || cn.RateLimit > MaxRateLimit {
			c.p.Add(cp+"/rateLimit", "rateLimit is submissions per minute from 1 to %d (0 for the default, %d), not %d", MaxRateLimit, DefaultRateLimit, cn.RateLimit)
		}
		if len(cn.Mapping) == 0 {
			c.p.Add(cp+"/mapping", "a connector needs a mapping: the entity's fields and the properties of the trigger's items that fill them")
		}
		if cn.Honeypot != "" {
			switch cn.Honeypot {
			case "_token", "_redirect":
				c.p.Add(cp+"/honeypot", "the honeypot %q is a field the endpoint reads itself", cn.Honeypot)
			}
			for _, f := range sortedKeys(cn.Mapping) {
				if cn.Mapping[f] == cn.Honeypot {
					c.p.Add(cp+"/honeypot", "the honeypot %q is also mapped to %s: people would fill it and be dropped", cn.Honeypot, f)
				}
			}
		}
		ei, ok := c.ents[cn.Entity]
		if !ok {
			c.p.Add(cp+"/entity", "no entity named %q in this app%s", cn.Entity, didYouMean(cn.Entity, c.entityNames()))
			continue
		}
		for _, name := range sortedKeys(cn.Mapping) {
			c.checkConnectorTarget(cp+"/mapping/"+escapePtr(name), ei, name)
		}
		for _, name := range sortedKeys(cn.Defaults) {
			c.checkConnectorTarget(cp+"/defaults/"+escapePtr(name), ei, name)
		}
		if cn.Match != "" {
			c.checkConnectorMatch(cp+"/match", ei, cn)
		}
	}
}

// checkConnectorTarget refuses a field a connector may not fill on
// entity ei: unknown fields, every system column (owner too: a form on a
// website must not choose who owns the lead) and computed fields.
func (c *checker) checkConnectorTarget(p string, ei int, name string) {
	f := c.field(ei, name)
	switch {
	case f == nil:
		if _, sys := SystemColumnType(name); sys {
			c.p.Add(p, "%s is set by the server and cannot be written", name)
		} else {
			c.p.Add(p, "unknown field %q: entity %q has no such field%s", name, c.app.Entities[ei].Name, didYouMean(name, c.fieldNames(ei)))
		}
	case f.Type.Computed():
		c.p.Add(p, "%s is a computed %s field and cannot be written", name, f.Type)
	}
}

// checkConnectorMatch refuses a match field that is not unique (an
// update must find at most one record) or that no item fills.
func (c *checker) checkConnectorMatch(p string, ei int, cn *Connector) {
	e := &c.app.Entities[ei]
	f := c.field(ei, cn.Match)
	if f == nil {
		c.p.Add(p, "unknown field %q: entity %q has no such field%s", cn.Match, e.Name, didYouMean(cn.Match, c.fieldNames(ei)))
		return
	}
	if !IsUniqueField(e, cn.Match) {
		c.p.Add(p, "%s is not a unique field of %s: match finds the one record to update by a unique field", cn.Match, e.Name)
	}
	if _, mapped := cn.Mapping[cn.Match]; !mapped {
		c.p.Add(p, "%s is not in the mapping: no item would carry a value to match", cn.Match)
	}
}

// IsUniqueField reports whether field name of e holds a value at most
// one record has: the field is unique, or a unique index covers it alone.
func IsUniqueField(e *Entity, name string) bool {
	if f := e.Field(name); f != nil && f.Unique {
		return true
	}
	for _, ix := range e.Indexes {
		if ix.Unique && len(ix.Fields) == 1 {
			if n, _ := IndexField(ix.Fields[0]); n == name {
				return true
			}
		}
	}
	return false
}

// checkPluginAction checks a plugin action's shape; the engine checks
// the plugin and its action exist and the literal inputs fit its schema.
func (c *checker) checkPluginAction(xp string, x *Action) {
	if x.Plugin == "" {
		c.p.Add(xp+"/plugin", "a plugin action needs the plugin it calls")
	}
	if x.PluginAction == "" {
		c.p.Add(xp+"/action", "a plugin action needs the name of the plugin's action it runs")
	}
	if len(x.Input) > maxPluginInputs {
		c.p.Add(xp+"/input", "must have at most %d items", maxPluginInputs)
	}
}

const maxPluginInputs = 100
