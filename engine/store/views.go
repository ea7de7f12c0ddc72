package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// viewRow is a saved list view of one entity: personal (its owner's alone)
// or shared by an admin with the users of some roles.
type viewRow struct {
	ID        string    `gorm:"primaryKey;size:26"`
	App       string    `gorm:"size:63;not null;index:idx_forma_views_entity,priority:1"`
	Entity    string    `gorm:"size:63;not null;index:idx_forma_views_entity,priority:2"`
	Owner     string    `gorm:"size:64;not null"`
	Name      string    `gorm:"size:400;not null"`
	Labels    string    `gorm:"not null"` // JSON object: language → name
	Kind      string    `gorm:"size:16;not null"`
	Filter    string    `gorm:"not null"`
	Sort      string    `gorm:"size:1000;not null"`
	Columns   string    `gorm:"not null"` // JSON array of field names
	Options   string    `gorm:"not null"` // JSON object (groupBy, dateField …) for the UI
	Roles     string    `gorm:"not null"` // JSON array of role names; [] is personal
	Position  int       `gorm:"not null"`
	Version   int64     `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

func (viewRow) TableName() string { return "_forma_views" }

// View is a saved list view.
type View struct {
	ID        string            `json:"id"`
	App       string            `json:"app"`
	Entity    string            `json:"entity"`
	Owner     string            `json:"owner"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	Kind      string            `json:"kind"`
	Filter    string            `json:"filter"`
	Sort      string            `json:"sort"`
	Columns   []string          `json:"columns"`
	Options   json.RawMessage   `json:"options"`
	Roles     []string          `json:"roles"`
	Position  int               `json:"position"`
	Version   int64             `json:"version"`
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

func (v *View) row() (*viewRow, error) {
	labels, err := json.Marshal(nonNilMap(v.Labels))
	if err != nil {
		return nil, err
	}
	cols, _ := json.Marshal(nonNilSlice(v.Columns))
	roles, _ := json.Marshal(nonNilSlice(v.Roles))
	opts := string(v.Options)
	if opts == "" || opts == "null" {
		opts = "{}"
	}
	return &viewRow{ID: v.ID, App: v.App, Entity: v.Entity, Owner: v.Owner, Name: v.Name, Labels: string(labels),
		Kind: v.Kind, Filter: v.Filter, Sort: v.Sort, Columns: string(cols), Options: opts, Roles: string(roles),
		Position: v.Position, Version: v.Version, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}, nil
}

func (r *viewRow) view() View {
	v := View{ID: r.ID, App: r.App, Entity: r.Entity, Owner: r.Owner, Name: r.Name, Kind: r.Kind, Filter: r.Filter,
		Sort: r.Sort, Options: json.RawMessage(r.Options), Position: r.Position, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	_ = json.Unmarshal([]byte(r.Labels), &v.Labels)
	_ = json.Unmarshal([]byte(r.Columns), &v.Columns)
	_ = json.Unmarshal([]byte(r.Roles), &v.Roles)
	v.Labels, v.Columns, v.Roles = nonNilMap(v.Labels), nonNilSlice(v.Columns), nonNilSlice(v.Roles)
	return v
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Views lists the saved views of app/entity, in position then creation order.
func (db *DB) Views(ctx context.Context, app, entity string) ([]View, error) {
	var rows []viewRow
	err := db.Gorm.WithContext(ctx).Where("app = ? AND entity = ?", app, entity).Order("position, created_at, id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: list views of %s/%s: %w", app, entity, err)
	}
	out := make([]View, len(rows))
	for i := range rows {
		out[i] = rows[i].view()
	}
	return out, nil
}

// View returns one saved view of app/entity, or ErrNotFound.
func (db *DB) View(ctx context.Context, app, entity, id string) (*View, error) {
	var r viewRow
	if err := db.Gorm.WithContext(ctx).Where("app = ? AND entity = ? AND id = ?", app, entity, id).Take(&r).Error; err != nil {
		return nil, notFound(err)
	}
	v := r.view()
	return &v, nil
}

// CreateView stores a new view; v.Version is set to 1.
func (db *DB) CreateView(ctx context.Context, v *View) error {
	v.Version = 1
	r, err := v.row()
	if err != nil {
		return err
	}
	if err := db.Gorm.WithContext(ctx).Create(r).Error; err != nil {
		return fmt.Errorf("store: create view: %w", err)
	}
	return nil
}

// ErrViewStale is a view update against a version that is no longer current.
var ErrViewStale = fmt.Errorf("the view was changed since it was read")

// UpdateView replaces a view if it is still at version base; its version
// goes up by one. ErrViewStale otherwise, ErrNotFound when it is gone.
func (db *DB) UpdateView(ctx context.Context, v *View, base int64) error {
	v.Version = base + 1
	r, err := v.row()
	if err != nil {
		return err
	}
	res := db.Gorm.WithContext(ctx).Model(&viewRow{}).Where("app = ? AND entity = ? AND id = ? AND version = ?", v.App, v.Entity, v.ID, base).
		Updates(map[string]any{"name": r.Name, "labels": r.Labels, "kind": r.Kind, "filter": r.Filter, "sort": r.Sort,
			"columns": r.Columns, "options": r.Options, "roles": r.Roles, "position": r.Position, "version": r.Version,
			"updated_at": r.UpdatedAt})
	if res.Error != nil {
		return fmt.Errorf("store: update view: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := db.View(ctx, v.App, v.Entity, v.ID); err != nil {
			return err
		}
		return ErrViewStale
	}
	return nil
}

// DeleteView removes a view; ErrNotFound when there is none.
func (db *DB) DeleteView(ctx context.Context, app, entity, id string) error {
	res := db.Gorm.WithContext(ctx).Where("app = ? AND entity = ? AND id = ?", app, entity, id).Delete(&viewRow{})
	if res.Error != nil {
		return fmt.Errorf("store: delete view: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}
