package access

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Profile is what lead distribution knows of a user beyond their roles
// and team: the skills an assignment rule's candidates condition and
// skillsMatch statistic read, the region fieldMatch compares, and absence
// (a user away gets nothing assigned). It is stored as JSON in
// _forma_users.profile.
type Profile struct {
	Skills []string `json:"skills"`
	Region string   `json:"region,omitempty"`
	// Away marks the user absent until AwayUntil (for good while it is
	// nil); a past AwayUntil means back.
	Away      bool       `json:"away"`
	AwayUntil *time.Time `json:"awayUntil,omitempty"`
}

// Limits on a profile.
const (
	MaxSkills     = 50
	maxSkillLen   = 60
	maxRegionLen  = 100
	maxProfileLen = 8000
)

// IsAway says whether the user is away at now.
func (p *Profile) IsAway(now time.Time) bool {
	return p.Away && (p.AwayUntil == nil || now.Before(*p.AwayUntil))
}

// HasSkill says whether one of the user's skills is s (letter case aside).
func (p *Profile) HasSkill(s string) bool {
	for _, k := range p.Skills {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

// clean checks p and returns it trimmed, skills deduplicated in the order
// given; bad input is an *InputError at the key's path.
func (p Profile) clean() (Profile, error) {
	out := Profile{Skills: []string{}, Region: strings.TrimSpace(p.Region), Away: p.Away, AwayUntil: p.AwayUntil}
	if len(p.Skills) > MaxSkills {
		return out, &InputError{Field: "profile.skills", Message: fmt.Sprintf("at most %d skills", MaxSkills)}
	}
	seen := map[string]bool{}
	for _, k := range p.Skills {
		k = strings.TrimSpace(k)
		switch {
		case k == "" || !utf8.ValidString(k) || strings.ContainsRune(k, 0):
			return out, &InputError{Field: "profile.skills", Message: "a skill must be non-empty text"}
		case utf8.RuneCountInString(k) > maxSkillLen:
			return out, &InputError{Field: "profile.skills", Message: fmt.Sprintf("a skill has at most %d characters", maxSkillLen)}
		}
		if !seen[strings.ToLower(k)] {
			seen[strings.ToLower(k)] = true
			out.Skills = append(out.Skills, k)
		}
	}
	if utf8.RuneCountInString(out.Region) > maxRegionLen || !utf8.ValidString(out.Region) || strings.ContainsRune(out.Region, 0) {
		return out, &InputError{Field: "profile.region", Message: fmt.Sprintf("a region is text of at most %d characters", maxRegionLen)}
	}
	if out.AwayUntil != nil {
		t := out.AwayUntil.UTC()
		out.AwayUntil = &t
	}
	return out, nil
}

// encode is the stored form of p.
func (p Profile) encode() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// decodeProfile reads the stored form; an empty or unreadable column is
// the empty profile.
func decodeProfile(s string) Profile {
	var p Profile
	if s != "" {
		_ = json.Unmarshal([]byte(s), &p)
	}
	if p.Skills == nil {
		p.Skills = []string{}
	}
	return p
}
