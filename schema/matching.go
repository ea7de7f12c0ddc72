package schema

// Matching is a duplicate rule of one entity ("one customer, one id"): a
// record is a probable duplicate of another when any of Keys matches. The
// engine (engine/bulk) reports probable duplicates on create and import,
// lists them, and merges a duplicate into its survivor.
type Matching struct {
	Name   string     `json:"name"`
	Label  string     `json:"label,omitempty"`
	Labels Labels     `json:"labels,omitempty"`
	Entity string     `json:"entity"`
	Keys   []MatchKey `json:"keys"`
	// OnCreate says what a create (API, web, import) that finds a probable
	// duplicate does: MatchWarn (the default) writes it and reports the
	// duplicates, MatchRefuse refuses it (409 duplicate, naming the
	// records it matches that the caller may read).
	OnCreate string `json:"onCreate,omitempty"`
}

// What a create that finds a probable duplicate does.
const (
	MatchWarn   = "warn"
	MatchRefuse = "refuse"
)

// Normalisations of a match key's values before they are compared.
const (
	NormalizeText    = "text"    // trimmed, spaces collapsed, letter case and full/half width folded (the default)
	NormalizePhone   = "phone"   // digits only, a leading +86 / 0086 / 86 country code dropped
	NormalizeEmail   = "email"   // trimmed, lower case (the whole address)
	NormalizeCompany = "company" // text, then legal suffixes removed: 有限公司, 有限责任公司, 股份有限公司, 集团, Co., Ltd., Inc., LLC, GmbH …
)

// MatchKey is one way two records match: every one of Fields equal after
// Normalize — or, with Similarity (0 < s < 1, one text field only), the
// normalised values at least that similar.
type MatchKey struct {
	Fields     []string `json:"fields"`
	Normalize  string   `json:"normalize,omitempty"`
	Similarity float64  `json:"similarity,omitempty"`
}

// MatchingOf returns the duplicate rules of entity.
func (a *App) MatchingOf(entity string) []*Matching {
	var out []*Matching
	for i := range a.Matching {
		if a.Matching[i].Entity == entity {
			out = append(out, &a.Matching[i])
		}
	}
	return out
}
