package records

import (
	"strings"
	"testing"

	"github.com/formaapp/forma/schema"
)

// A migration aggregates a parent's rollup anew when the child field it
// sums changes type or scale: writes only adjust a stored sum by their own
// change, so values a migration rewrites would otherwise never reach it.
func TestComputedSignatureFollowsTheSummedField(t *testing.T) {
	doc := func(lineQty string) *schema.App {
		t.Helper()
		app, problems := schema.Parse([]byte(`{"name": "shop", "entities": [
		  {"name": "sale", "fields": [{"id": "s1", "name": "total", "type": "rollup", "rollup": {"entity": "line", "via": "sale", "op": "sum", "field": "qty"}}]},
		  {"name": "line", "fields": [{"id": "l1", "name": "sale", "type": "ref", "entity": "sale"}, ` + lineQty + `]}]}`))
		if len(problems) > 0 {
			t.Fatalf("%v", problems)
		}
		return app
	}
	sig := func(app *schema.App) string { return computedSignature(app, app.Entity("sale")) }
	base := sig(doc(`{"id": "l2", "name": "qty", "type": "decimal", "scale": 2}`))
	if same := sig(doc(`{"id": "l2", "name": "qty", "type": "decimal", "scale": 2, "label": "Quantity"}`)); same != base {
		t.Errorf("a label changed the signature: %q → %q", base, same)
	}
	for _, qty := range []string{
		`{"id": "l2", "name": "qty", "type": "decimal", "scale": 3}`,
		`{"id": "l2", "name": "qty", "type": "integer"}`,
	} {
		if got := sig(doc(qty)); got == base || !strings.Contains(got, "line|sale|sum|qty") {
			t.Errorf("%s: signature %q, was %q", qty, got, base)
		}
	}
}
