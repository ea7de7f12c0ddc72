package filter

import (
	"errors"
	"testing"
)

func TestVariables(t *testing.T) {
	n, err := Parse(`owner = @me || title in [@me, "x"]`)
	if err != nil {
		t.Fatal(err)
	}
	if got := format(n); got != `owner = @me || title in [@me, "x"]` {
		t.Fatalf("format = %s", got)
	}
	var seen []any
	enc := func(c Column, v any) (any, error) {
		seen = append(seen, v)
		if v == Var("me") {
			return "u1", nil
		}
		return v, nil
	}
	where, args, err := Compile(n, fakeResolver{}, enc, "sqlite")
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 3 || args[0] != "u1" || args[1] != "u1" || args[2] != "x" || seen[0] != Var("me") {
		t.Fatalf("where %s args %v seen %v", where, args, seen)
	}
	for _, bad := range []string{`owner = @`, `owner = @Me`, `owner = @1`, `@me = owner`, `owner = @ me`} {
		_, err := Parse(bad)
		var fe *Error
		if err == nil || !errors.As(err, &fe) {
			t.Errorf("Parse(%q) = %v, want *Error", bad, err)
		}
	}
}
