package script

import (
	"fmt"
	"reflect"

	"github.com/dop251/goja"
)

var proxyType = reflect.TypeOf(goja.Proxy{})

// installPrelude runs before hardenJS on every new runtime: it wraps the
// built-ins that could allocate or loop natively past the memory guard
// (caps.go) and defines the helper library globals (library.go). Hardening
// then freezes both like any other intrinsic.
func installPrelude(rt *goja.Runtime, opts Options) error {
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
	if _, err := rt.RunProgram(libraryPrg()); err != nil {
		return fmt.Errorf("install library: %w", err)
	}
	return nil
}
