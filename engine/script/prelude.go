package script

import (
	"fmt"
	"reflect"

	"github.com/dop251/goja"
)

var proxyType = reflect.TypeOf(goja.Proxy{})

// installPrelude runs before hardenJS on every new runtime: it defines the
// helper library globals (library.go) and wraps the built-ins that could
// allocate or loop natively past the memory guard (caps.go). Hardening
// then freezes both like any other intrinsic.
func installPrelude(rt *goja.Runtime, opts Options) error {
	// The library first: it captures the built-ins it uses (Reflect.apply
	// above all) before the caps wrap them, so helpers do not pay for the
	// wrappers' checks on every call. Its own loops run in JS, under the
	// interrupt and the memory guard.
	if _, err := rt.RunProgram(libraryPrg()); err != nil {
		return fmt.Errorf("install library: %w", err)
	}
	caps, err := rt.RunProgram(capsPrg())
	if err != nil {
		return fmt.Errorf("install caps: %w", err)
	}
	fn, ok := goja.AssertFunction(caps)
	if !ok {
		return fmt.Errorf("install caps: not a function")
	}
	// isProxy stays inside the caps closure; scripts cannot reach it.
	isProxy := rt.ToValue(func(call goja.FunctionCall) goja.Value {
		o, ok := call.Argument(0).(*goja.Object)
		return rt.ToValue(ok && o.ExportType() == proxyType)
	})
	// reRefusal says why a pattern built at run time may not be used
	// (forbid.go); jsonCost estimates what JSON.parse would allocate.
	reRefusal := rt.ToValue(func(call goja.FunctionCall) goja.Value {
		return rt.ToValue(regexpRefusal(call.Argument(0).String(), call.Argument(1).String()))
	})
	jsonCost := rt.ToValue(func(call goja.FunctionCall) goja.Value {
		return rt.ToValue(jsonParseCost(call.Argument(0).String()))
	})
	costs := map[string]int{}
	reCost := rt.ToValue(func(call goja.FunctionCall) goja.Value {
		src, flags := call.Argument(0).String(), call.Argument(1).String()
		key := flags + "/" + src
		c, ok := costs[key]
		if !ok {
			c = regexpCost(src, flags)
			// The runtime outlives the call: keep a bounded cache of
			// short patterns only.
			if len(key) <= 1024 {
				if len(costs) >= 256 {
					clear(costs)
				}
				costs[key] = c
			}
		}
		return rt.ToValue(c)
	})
	// classOf is an object's internal class ("String" for a String
	// object), read without running script code.
	classOf := rt.ToValue(func(call goja.FunctionCall) goja.Value {
		if o, ok := call.Argument(0).(*goja.Object); ok {
			return rt.ToValue(o.ClassName())
		}
		return rt.ToValue("")
	})
	maxStr, maxArr, maxBytes := capLimits(opts.MaxMemory)
	if _, err := fn(goja.Undefined(), rt.ToValue(maxStr), rt.ToValue(maxArr), rt.ToValue(maxBytes), isProxy, reRefusal, jsonCost,
		reCost, rt.ToValue(regexpBudget(opts.Timeout)), rt.ToValue(regexpSuspect.Milliseconds()), classOf); err != nil {
		return fmt.Errorf("install caps: %w", err)
	}
	return nil
}

// jsonParseCost estimates the bytes goja allocates to parse s: every
// object and array costs a fixed overhead, every member or element a slot,
// and strings their text (counted even inside strings: an overestimate).
// Weights: bytes goja allocated per element parsing 200k-element arrays
// (goja 2026-09: [{},…] ~280, [[],…] ~670, [0,…] ~200, {"k":1,…} ~400 per
// member), rounded up. JSON.parse also runs ~0.5 µs per element natively,
// so the cap (maxBytes/2 in caps.go) keeps one call to tens of ms.
func jsonParseCost(s string) int64 {
	cost := int64(len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			cost += jsonObjectCost
		case '[':
			cost += jsonArrayCost
		case ',':
			cost += jsonSlotCost
		case ':':
			cost += jsonMemberCost
		}
	}
	return cost
}

const (
	jsonObjectCost = 300
	jsonArrayCost  = 700
	jsonSlotCost   = 200
	jsonMemberCost = 250
)
