package assign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/automation/ab"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// variantRow is the variant of a rule a record got, for good: every later
// assignment of the record by the rule uses it, and the report counts it.
type variantRow struct {
	App      string `gorm:"primaryKey;size:63"`
	Rule     string `gorm:"primaryKey;size:63"`
	RecordID string `gorm:"column:record_id;primaryKey;size:64"`
	Variant  string `gorm:"size:63;not null;index:idx_forma_assign_variants_variant"`
}

func (variantRow) TableName() string { return "_forma_assign_variants" }

// arm is what a decision runs by: the rule's strategy and score, or a
// variant's.
type arm struct {
	variant, strategy, score string
}

// armOf returns the arm the record runs by: the stored variant, or one
// picked by ab.Pick on (rule, record) and stored (unless dry).
func (s *Service) armOf(ctx context.Context, tx store.Conn, app string, r *schema.Assignment, id string, dry bool) (arm, error) {
	if len(r.Variants) == 0 {
		return arm{strategy: r.Strategy, score: r.Score}, nil
	}
	pick := -1
	var name string
	err := tx.QueryRowContext(ctx, `SELECT "variant" FROM _forma_assign_variants WHERE "app" = ? AND "rule" = ? AND "record_id" = ?`, app, r.Name, id).Scan(&name)
	switch {
	case err == nil:
		for i, v := range r.Variants {
			if v.Name == name {
				pick = i
			}
		}
	case !errors.Is(err, sql.ErrNoRows):
		return arm{}, fmt.Errorf("assign: read variant: %w", err)
	}
	if pick < 0 { // none yet, or a variant since removed from the rule
		weights := make([]int, len(r.Variants))
		for i, v := range r.Variants {
			weights[i] = v.Weight
		}
		pick = ab.Pick(r.Name, id, weights)
		if pick < 0 {
			pick = 0
		}
		if !dry {
			if _, err := tx.ExecContext(ctx, `DELETE FROM _forma_assign_variants WHERE "app" = ? AND "rule" = ? AND "record_id" = ?`, app, r.Name, id); err != nil {
				return arm{}, fmt.Errorf("assign: store variant: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO _forma_assign_variants ("app", "rule", "record_id", "variant") VALUES (?, ?, ?, ?)`, app, r.Name, id, r.Variants[pick].Name); err != nil {
				return arm{}, fmt.Errorf("assign: store variant: %w", err)
			}
		}
	}
	v := r.Variants[pick]
	score := v.Score
	if score == "" {
		score = r.Score
	}
	return arm{variant: v.Name, strategy: v.Strategy, score: score}, nil
}

// VariantReport is GET …/assignments/{name}/variants?goal=: per variant of
// the rule, the records that got it and those of them that meet goal, as
// the automations' report counts them.
func (s *Service) VariantReport(ctx context.Context, c records.Caller, app *schema.App, r *schema.Assignment, goal string) (*automation.VariantReport, error) {
	arms := make([]automation.Arm, len(r.Variants))
	for i, v := range r.Variants {
		arms[i] = automation.Arm{Name: v.Name, Weight: v.Weight}
	}
	return automation.ReportVariants(ctx, s.db, s.records, c, app, r.Entity, arms, goal,
		`SELECT "record_id" FROM _forma_assign_variants WHERE "app" = ? AND "rule" = ? AND "variant" = ?`, app.Name, r.Name)
}
