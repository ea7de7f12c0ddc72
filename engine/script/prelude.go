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
	maxStr, maxArr, maxBytes := capLimits(opts.MaxMemory)
	if _, err := fn(goja.Undefined(), rt.ToValue(maxStr), rt.ToValue(maxArr), rt.ToValue(maxBytes), isProxy); err != nil {
		return fmt.Errorf("install caps: %w", err)
	}
	return nil
}
