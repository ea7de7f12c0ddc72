package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Teams nest: a team may have a parent team, so a sales organisation is a
// tree (region → branch → squad). A user belongs to at most one team; a
// manager's reach is their team and every team below it (TeamsUnder).

const maxTeamName = 100

// ErrInUse refuses deleting a team that still has users or child teams.
var ErrInUse = errors.New("in use")

// Team is one team as the API shows it. ParentID is "" for a top-level team.
// ManagerID is the user who manages the team ("" for none): automations
// notify them about the records of the team's members (ManagerOf).
type Team struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	ParentID  string    `json:"parentId,omitempty"`
	ManagerID string    `json:"managerId,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// teamRow is one team in _forma_teams. The parent is checked in code (it
// must exist and must not make a cycle) rather than by a foreign key.
type teamRow struct {
	ID       string  `gorm:"primaryKey;size:26"`
	Name     string  `gorm:"size:100;not null;uniqueIndex:idx_forma_teams_name"`
	ParentID *string `gorm:"size:26;index:idx_forma_teams_parent"`
	// ManagerID is checked in code (an active user when set) like the
	// parent. A nullable column: adding it to a table with rows is safe on
	// both dialects.
	ManagerID *string `gorm:"size:26"`
	CreatedAt time.Time
}

func (teamRow) TableName() string { return "_forma_teams" }

func (r *teamRow) team() *Team {
	t := &Team{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt.UTC()}
	if r.ParentID != nil {
		t.ParentID = *r.ParentID
	}
	if r.ManagerID != nil {
		t.ManagerID = *r.ManagerID
	}
	return t
}

// TeamUpdate changes a team; nil fields stay. ParentID "" makes the team
// top-level; ManagerID "" leaves it without a manager.
type TeamUpdate struct {
	Name      *string
	ParentID  *string
	ManagerID *string
}

// NewTeam is a team to create. ParentID and ManagerID "" mean none.
type NewTeam struct {
	Name      string
	ParentID  string
	ManagerID string
}

// checkManager validates a manager id: it must name an active user. It
// returns the id lower-cased, as ids are stored.
func checkManager(g *gorm.DB, id string) (string, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if !plainID(id) {
		// Not an id at all (and maybe not storable, as NUL is not on
		// PostgreSQL): nothing to look up.
		return "", &InputError{Field: "managerId", Message: "no such user"}
	}
	var row userRow
	err := g.Select("id", "active").Where("id = ?", id).Take(&row).Error
	if isNotFound(err) {
		return "", &InputError{Field: "managerId", Message: "no such user"}
	}
	if err != nil {
		return "", fmt.Errorf("access: look up manager: %w", err)
	}
	if !row.Active {
		return "", &InputError{Field: "managerId", Message: "is a deactivated user"}
	}
	return id, nil
}

func checkTeamName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > maxTeamName {
		return &InputError{Field: "name", Message: fmt.Sprintf("must be 1 to %d characters", maxTeamName)}
	}
	return nil
}

// teamNameTaken reports whether another team (not except) has that name,
// in any letter case.
func teamNameTaken(g *gorm.DB, name, except string) (bool, error) {
	var n int64
	err := g.Model(&teamRow{}).Where("LOWER(name) = LOWER(?) AND id <> ?", name, except).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("access: look up team name: %w", err)
	}
	return n > 0, nil
}

// teamExists reports whether a team id exists.
func teamExists(g *gorm.DB, id string) (bool, error) {
	var n int64
	if err := g.Model(&teamRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return false, fmt.Errorf("access: look up team: %w", err)
	}
	return n > 0, nil
}

// CreateTeam adds a team under parentID ("" for top level). A bad or taken
// name, or an unknown parent, is an *InputError.
func (s *Service) CreateTeam(ctx context.Context, name, parentID string) (*Team, error) {
	return s.CreateTeamWith(ctx, NewTeam{Name: name, ParentID: parentID})
}

// CreateTeamWith is CreateTeam with a manager too; a manager that is not an
// active user is an *InputError.
func (s *Service) CreateTeamWith(ctx context.Context, in NewTeam) (*Team, error) {
	name, parentID := strings.TrimSpace(in.Name), in.ParentID
	if err := checkTeamName(name); err != nil {
		return nil, err
	}
	row := &teamRow{ID: newID(), Name: name, CreatedAt: s.db.Now()}
	err := s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if taken, err := teamNameTaken(tx, name, ""); err != nil {
			return err
		} else if taken {
			return &InputError{Field: "name", Message: "is taken by another team"}
		}
		if parentID != "" {
			parentID = strings.ToLower(parentID)
			if ok, err := teamExists(tx, parentID); err != nil {
				return err
			} else if !ok {
				return &InputError{Field: "parentId", Message: "no such team"}
			}
			row.ParentID = &parentID
		}
		if in.ManagerID != "" {
			m, err := checkManager(tx, in.ManagerID)
			if err != nil {
				return err
			}
			row.ManagerID = &m
		}
		if err := tx.Create(row).Error; err != nil {
			return fmt.Errorf("access: create team: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row.team(), nil
}

// Team returns one team, or ErrNotFound.
func (s *Service) Team(ctx context.Context, id string) (*Team, error) {
	return s.teamWhere(ctx, "id = ?", strings.ToLower(id))
}

// TeamByName returns the team with that name (any letter case), or
// ErrNotFound.
func (s *Service) TeamByName(ctx context.Context, name string) (*Team, error) {
	return s.teamWhere(ctx, "LOWER(name) = LOWER(?)", strings.TrimSpace(name))
}

func (s *Service) teamWhere(ctx context.Context, cond string, arg any) (*Team, error) {
	var row teamRow
	err := s.db.Gorm.WithContext(ctx).Where(cond, arg).Take(&row).Error
	if isNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("access: look up team: %w", err)
	}
	return row.team(), nil
}

// Teams lists every team by name.
func (s *Service) Teams(ctx context.Context) ([]Team, error) {
	var rows []teamRow
	if err := s.db.Gorm.WithContext(ctx).Order("name, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("access: list teams: %w", err)
	}
	out := make([]Team, len(rows))
	for i := range rows {
		out[i] = *rows[i].team()
	}
	return out, nil
}

// UpdateTeam renames a team or moves it under another parent. A parent
// that is the team itself or one of the teams below it would make a cycle
// and is refused with an *InputError, as are an unknown parent and a bad or
// taken name. An unknown team is ErrNotFound.
func (s *Service) UpdateTeam(ctx context.Context, id string, up TeamUpdate) (*Team, error) {
	id = strings.ToLower(id)
	var out *Team
	err := s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.teamLock(tx); err != nil {
			return err
		}
		var row teamRow
		err := tx.Where("id = ?", id).Take(&row).Error
		if isNotFound(err) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("access: look up team: %w", err)
		}
		if up.Name != nil {
			name := strings.TrimSpace(*up.Name)
			if err := checkTeamName(name); err != nil {
				return err
			}
			if taken, err := teamNameTaken(tx, name, id); err != nil {
				return err
			} else if taken {
				return &InputError{Field: "name", Message: "is taken by another team"}
			}
			row.Name = name
		}
		if up.ParentID != nil {
			parent := strings.ToLower(*up.ParentID)
			if parent == "" {
				row.ParentID = nil
			} else {
				if ok, err := teamExists(tx, parent); err != nil {
					return err
				} else if !ok {
					return &InputError{Field: "parentId", Message: "no such team"}
				}
				below, err := teamsUnder(tx, id)
				if err != nil {
					return err
				}
				for _, b := range below {
					if b == parent {
						return &InputError{Field: "parentId", Message: "is this team or a team below it: that would make a cycle"}
					}
				}
				row.ParentID = &parent
			}
		}
		if up.ManagerID != nil {
			if *up.ManagerID == "" {
				row.ManagerID = nil
			} else {
				m, err := checkManager(tx, *up.ManagerID)
				if err != nil {
					return err
				}
				row.ManagerID = &m
			}
		}
		if err := tx.Model(&teamRow{}).Where("id = ?", id).
			Updates(map[string]any{"name": row.Name, "parent_id": row.ParentID, "manager_id": row.ManagerID}).Error; err != nil {
			return fmt.Errorf("access: update team: %w", err)
		}
		out = row.team()
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Moving a team changes whose records a manager reaches.
	return out, s.bumpEpoch(ctx)
}

// DeleteTeam deletes a team that has no users and no child teams; one that
// has is ErrInUse, an unknown one ErrNotFound.
func (s *Service) DeleteTeam(ctx context.Context, id string) error {
	id = strings.ToLower(id)
	return s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if ok, err := teamExists(tx, id); err != nil {
			return err
		} else if !ok {
			return ErrNotFound
		}
		var users, children int64
		if err := tx.Model(&userRow{}).Where("team_id = ?", id).Count(&users).Error; err != nil {
			return fmt.Errorf("access: count team users: %w", err)
		}
		if err := tx.Model(&teamRow{}).Where("parent_id = ?", id).Count(&children).Error; err != nil {
			return fmt.Errorf("access: count child teams: %w", err)
		}
		if users > 0 || children > 0 {
			return fmt.Errorf("team has %d user(s) and %d child team(s): %w", users, children, ErrInUse)
		}
		if err := tx.Where("id = ?", id).Delete(&teamRow{}).Error; err != nil {
			return fmt.Errorf("access: delete team: %w", err)
		}
		return nil
	})
}

// TeamsUnder returns teamID and the ids of every team below it, at any
// depth, the team itself first. An unknown team is ErrNotFound. It cannot
// loop: each team is visited once, even if the data held a cycle.
func (s *Service) TeamsUnder(ctx context.Context, teamID string) ([]string, error) {
	g := s.db.Gorm.WithContext(ctx)
	teamID = strings.ToLower(teamID)
	if ok, err := teamExists(g, teamID); err != nil {
		return nil, err
	} else if !ok {
		return nil, ErrNotFound
	}
	return teamsUnder(g, teamID)
}

// teamsUnder walks the tree below id breadth-first over the whole team
// table, which is small (an organisation's teams), in one query.
func teamsUnder(g *gorm.DB, id string) ([]string, error) {
	var rows []teamRow
	if err := g.Select("id", "parent_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("access: list teams: %w", err)
	}
	children := map[string][]string{}
	for _, r := range rows {
		if r.ParentID != nil {
			children[*r.ParentID] = append(children[*r.ParentID], r.ID)
		}
	}
	out := []string{id}
	seen := map[string]bool{id: true}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i]] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// teamLock serialises team moves across servers, so two concurrent moves
// cannot together make a cycle that each alone would not. SQLite's write
// transactions already run one at a time; PostgreSQL takes a
// transaction-scoped advisory lock.
func (s *Service) teamLock(tx *gorm.DB) error {
	if s.db.Dialect.Name() != "postgres" {
		return nil
	}
	// The key is "teams" in ASCII; any constant other than firstAdminLock's.
	if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", int64(0x7465616d73)).Error; err != nil {
		return fmt.Errorf("access: lock teams: %w", err)
	}
	return nil
}

// plainID says whether id could be an id: 1 to 26 lower-case letters and
// digits.
func plainID(id string) bool {
	if id == "" || len(id) > 26 {
		return false
	}
	for _, r := range id {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// ManagerOf returns the id of the manager who answers for userID's records:
// the manager of the user's team; when the team has none, when the user is
// that manager, or when the manager has been deactivated since, the manager
// of the nearest team above that has one who fits. "" (and no error) when
// nobody does — the user has no team, or no team up the tree has a fitting
// manager — or the user is unknown.
func (s *Service) ManagerOf(ctx context.Context, userID string) (string, error) {
	g := s.db.Gorm.WithContext(ctx)
	userID = strings.ToLower(userID)
	if !plainID(userID) {
		return "", nil
	}
	var u userRow
	err := g.Select("id", "team_id").Where("id = ?", userID).Take(&u).Error
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("access: look up user: %w", err)
	}
	if u.TeamID == nil {
		return "", nil
	}
	// The whole team table is small (an organisation's teams): one query,
	// then walk up in memory.
	var rows []teamRow
	if err := g.Select("id", "parent_id", "manager_id").Find(&rows).Error; err != nil {
		return "", fmt.Errorf("access: list teams: %w", err)
	}
	byID := make(map[string]*teamRow, len(rows))
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	var chain []string // managers from the user's team up, nearest first
	seen := map[string]bool{}
	for id := *u.TeamID; id != "" && !seen[id]; {
		seen[id] = true // a cycle in the data cannot loop
		t := byID[id]
		if t == nil {
			break
		}
		if t.ManagerID != nil && *t.ManagerID != userID {
			chain = append(chain, *t.ManagerID)
		}
		id = ""
		if t.ParentID != nil {
			id = *t.ParentID
		}
	}
	if len(chain) == 0 {
		return "", nil
	}
	var active []userRow
	if err := g.Select("id").Where("id IN ? AND active = ?", chain, true).Find(&active).Error; err != nil {
		return "", fmt.Errorf("access: look up managers: %w", err)
	}
	ok := map[string]bool{}
	for _, r := range active {
		ok[r.ID] = true
	}
	for _, m := range chain {
		if ok[m] {
			return m, nil
		}
	}
	return "", nil
}
