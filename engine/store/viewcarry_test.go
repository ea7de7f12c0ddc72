package store

import "testing"

// TestViewRenames: a rename reaches every name a view holds and nothing
// else (not a literal that spells the old name, not another entity's field).
func TestViewRenames(t *testing.T) {
	r := &viewRenames{
		entities: map[string]string{"order_": "sale"},
		fields:   map[string]map[string]string{"order_": {"qty": "quantity", "store": "shop"}, "store": {"name": "shop_name"}},
		refs:     map[string]map[string]string{"order_": {"store": "store", "owner_store": "store"}},
	}
	for _, c := range []struct{ in, want string }{
		{`qty > 2`, `quantity > 2`},
		{`title ~ "qty" && qty>1`, `title ~ "qty" && quantity>1`},
		{`store.name ~ "静安" || owner_store.name = "x"`, `shop.shop_name ~ "静安" || owner_store.shop_name = "x"`},
		{`(qty in [1, 2]) && !(store = null)`, `(quantity in [1, 2]) && !(shop = null)`},
		{`name = "a"`, `name = "a"`}, // order_ has no name: store's rename does not apply
		{`qty >`, `qty >`},           // does not parse: left as it is
		{``, ``},
	} {
		if got := r.filterText("order_", c.in); got != c.want {
			t.Errorf("filter %q → %q, want %q", c.in, got, c.want)
		}
	}
	if got := r.sortText("order_", "-qty, title,+store"); got != "-quantity,title,+shop" {
		t.Errorf("sort → %q", got)
	}
}
