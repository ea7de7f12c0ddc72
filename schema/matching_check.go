package schema

import "fmt"

// matchable is what a match key's field may be: values that are equal
// (after normalising) when the records are the same customer. Free text
// (longtext), json, files, booleans and computed values cannot identify
// one.
var matchable = map[FieldType]bool{
	Text: true, Email: true, Phone: true, URL: true, Select: true,
	Integer: true, Ref: true, User: true, Date: true, AutoNumber: true,
}

// checkMatching checks what the JSON Schema cannot about duplicate rules
// (matching.go): names unique, the entity and each key's fields exist and
// can match, a normalisation the engine knows, similarity only on one
// text field (normalised as text or company).
func (c *checker) checkMatching() {
	seen := map[string]string{}
	for i := range c.app.Matching {
		m := &c.app.Matching[i]
		mp := ptr("matching", i)
		c.uniqueName(mp, "matching rule", m.Name, seen)
		switch m.OnCreate {
		case "", MatchWarn, MatchRefuse:
		default:
			c.p.Add(mp+"/onCreate", "%q is not one of the options: %s", m.OnCreate, "warn, refuse")
		}
		ei, ok := c.ents[m.Entity]
		if !ok {
			c.p.Add(mp+"/entity", "no entity named %q in this app%s", m.Entity, didYouMean(m.Entity, c.entityNames()))
			continue
		}
		if len(m.Keys) == 0 {
			c.p.Add(mp+"/keys", "a matching rule needs at least one key")
		}
		for j := range m.Keys {
			k := &m.Keys[j]
			kp := fmt.Sprintf("%s/keys/%d", mp, j)
			switch k.Normalize {
			case "", NormalizeText, NormalizePhone, NormalizeEmail, NormalizeCompany:
			default:
				c.p.Add(kp+"/normalize", "%q is not one of the options: %s", k.Normalize, "text, phone, email, company")
			}
			if len(k.Fields) == 0 {
				c.p.Add(kp+"/fields", "a match key needs at least one field")
			}
			names := map[string]bool{}
			for n, name := range k.Fields {
				fp := fmt.Sprintf("%s/fields/%d", kp, n)
				if names[name] {
					c.p.Add(fp, "%q is listed twice", name)
					continue
				}
				names[name] = true
				f := c.field(ei, name)
				if f == nil {
					c.p.Add(fp, "unknown field %q: entity %q has no such field%s", name, m.Entity, didYouMean(name, c.fieldNames(ei)))
					continue
				}
				if !matchable[f.Type] {
					c.p.Add(fp, "%s is a %s field; a match key compares text, email, phone, url, select, integer, ref, user, date or autonumber fields", name, f.Type)
				}
			}
			if k.Similarity != 0 {
				if k.Similarity < 0 || k.Similarity > 1 {
					c.p.Add(kp+"/similarity", "similarity is a number above 0 and at most 1, not %v", k.Similarity)
				}
				if len(k.Fields) != 1 {
					c.p.Add(kp+"/fields", "a similarity key compares one text field, not %d", len(k.Fields))
				} else if f := c.field(ei, k.Fields[0]); f != nil && f.Type != Text {
					c.p.Add(kp+"/fields/0", "a similarity key compares one text field; %s is a %s field", f.Name, f.Type)
				}
				if k.Normalize != "" && k.Normalize != NormalizeText && k.Normalize != NormalizeCompany {
					c.p.Add(kp+"/normalize", "a similarity key normalises as text or company, not %s", k.Normalize)
				}
			}
		}
	}
}
