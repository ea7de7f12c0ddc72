package access

import (
	"context"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

func TestTeamManager(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		boss := mustUser(t, s, "boss@example.com", false)
		lead := mustUser(t, s, "lead@example.com", false)
		gone := mustUser(t, s, "gone@example.com", false)
		if err := s.SetActive(ctx, gone.ID, false); err != nil {
			t.Fatal(err)
		}

		region, err := s.CreateTeamWith(ctx, NewTeam{Name: "Region", ManagerID: "  " + boss.ID + " "})
		if err != nil || region.ManagerID != boss.ID {
			t.Fatalf("create with manager: %+v, %v", region, err)
		}
		squad := mustTeam(t, s, "Squad", region.ID)
		if squad.ManagerID != "" {
			t.Fatalf("no manager given: %q", squad.ManagerID)
		}

		// The manager must be an active user; a refusal changes nothing.
		for _, bad := range []string{gone.ID, "01hzzzzzzzzzzzzzzzzzzzzzzz", "x' OR '1'='1", "a\x00b"} {
			_, err := s.CreateTeamWith(ctx, NewTeam{Name: "Bad", ManagerID: bad})
			wantInputError(t, err, "managerId")
			b := bad
			_, err = s.UpdateTeam(ctx, squad.ID, TeamUpdate{ManagerID: &b})
			wantInputError(t, err, "managerId")
		}
		if _, err := s.TeamByName(ctx, "Bad"); err == nil {
			t.Fatal("a team with a bad manager was created")
		}

		// Set (any letter case), keep on an unrelated update, clear.
		up := stringPtr(t, lead.ID)
		if got, err := s.UpdateTeam(ctx, squad.ID, TeamUpdate{ManagerID: up}); err != nil || got.ManagerID != lead.ID {
			t.Fatalf("set manager: %+v, %v", got, err)
		}
		if got, err := s.UpdateTeam(ctx, squad.ID, TeamUpdate{Name: stringPtr(t, "Squad 1")}); err != nil || got.ManagerID != lead.ID {
			t.Fatalf("rename kept manager? %+v, %v", got, err)
		}
		if got, _ := s.Team(ctx, squad.ID); got.ManagerID != lead.ID {
			t.Fatalf("read back %+v", got)
		}

		// ManagerOf walks up.
		rep := mustUser(t, s, "rep@example.com", false)
		if _, err := s.UpdateUser(ctx, rep.ID, UserUpdate{TeamID: &squad.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateUser(ctx, lead.ID, UserUpdate{TeamID: &squad.ID}); err != nil {
			t.Fatal(err)
		}
		for who, want := range map[string]string{rep.ID: lead.ID, lead.ID: boss.ID, boss.ID: "", gone.ID: "", "nobody": ""} {
			if got, err := s.ManagerOf(ctx, who); err != nil || got != want {
				t.Errorf("ManagerOf(%s) = %q, %v; want %q", who, got, err, want)
			}
		}

		if got, err := s.UpdateTeam(ctx, squad.ID, TeamUpdate{ManagerID: stringPtr(t, "")}); err != nil || got.ManagerID != "" {
			t.Fatalf("clear manager: %+v, %v", got, err)
		}
		if got, _ := s.ManagerOf(ctx, rep.ID); got != boss.ID {
			t.Fatalf("cleared: ManagerOf(rep) = %q, want the region's", got)
		}
	})
}

// A database from before team managers: the column is added to a teams
// table that already has rows, which read back without a manager.
func TestTeamManagerColumnAdded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Gorm.Exec(`CREATE TABLE _forma_teams (id VARCHAR(26) PRIMARY KEY, name VARCHAR(100) NOT NULL, parent_id VARCHAR(26), created_at TIMESTAMP)`).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Exec(`INSERT INTO _forma_teams (id, name, created_at) VALUES ('01hold0000000000000000team', 'Old', ?)`, db.Now()).Error; err != nil {
			t.Fatal(err)
		}
		s := newService(t, db)
		tm, err := s.TeamByName(ctx, "Old")
		if err != nil || tm.ManagerID != "" {
			t.Fatalf("old team: %+v, %v", tm, err)
		}
		u := mustUser(t, s, "m@example.com", false)
		if got, err := s.UpdateTeam(ctx, tm.ID, TeamUpdate{ManagerID: &u.ID}); err != nil || got.ManagerID != u.ID {
			t.Fatalf("set on old team: %+v, %v", got, err)
		}
	})
}

func stringPtr(t *testing.T, s string) *string { t.Helper(); return &s }
