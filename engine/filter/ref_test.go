package filter

import (
	"reflect"
	"testing"
)

// refResolver follows "account" to a target whose row rule is owner = ?.
type refResolver struct{ fakeResolver }

func (r refResolver) Ref(name string) (Ref, bool) {
	if name != "account" {
		return Ref{}, false
	}
	return Ref{SQL: `"account"`, Table: `"app_account"`, Where: `"owner" = ?`, Args: []any{"u1"},
		Target: fakeResolver{hidden: map[string]bool{"secret": true}}}, true
}

func TestCompileViaRef(t *testing.T) {
	for _, c := range []struct {
		src, where string
		args       []any
	}{
		{`account.title = "x"`, `"account" IN (SELECT "id" FROM "app_account" WHERE "owner" = ? AND "title" = ?)`, []any{"u1", "x"}},
		{`qty > 1 && account.qty = 2`, `("qty" > ? AND "account" IN (SELECT "id" FROM "app_account" WHERE "owner" = ? AND "qty" = ?))`, []any{"1", "u1", "2"}},
	} {
		n, err := Parse(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		w, args, err := Compile(n, refResolver{resolver}, nil, "postgres")
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		if w != c.where || len(args) != len(c.args) {
			t.Errorf("%s:\n got %s %v\nwant %s %v", c.src, w, args, c.where, c.args)
		}
		for i := range args {
			if a, ok := args[i].(interface{ String() string }); ok {
				args[i] = a.String()
			}
		}
		if !reflect.DeepEqual(args, c.args) {
			t.Errorf("%s: args %v, want %v", c.src, args, c.args)
		}
	}
	for _, src := range []string{`account.secret = "x"`, `account.nope = 1`, `title.x = 1`, `a.b.c = 1`, `account. = 1`, `account.Title = 1`} {
		n, err := Parse(src)
		if err == nil {
			_, _, err = Compile(n, refResolver{resolver}, nil, "sqlite")
		}
		if err == nil {
			t.Errorf("%s: no error", src)
		}
	}
	// A plain Resolver knows no dotted names.
	n, _ := Parse(`account.title = "x"`)
	if _, _, err := Compile(n, resolver, nil, "sqlite"); err == nil {
		t.Error("plain resolver followed a ref")
	}
}
