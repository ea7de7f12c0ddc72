package script

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/dop251/goja"
)

// recordJS builds the object a script sees for a *Record argument: a Proxy
// over a plain object of the values whose traps refuse assignments to
// fields that do not exist or cannot be written, with an error naming the
// field (so a typo in a hook fails loudly at its line instead of being
// silently ignored). Assigning undefined or deleting a field sets it to null.
const recordJS = `(function(){
"use strict";
const P = Proxy, hasOwn = Object.prototype.hasOwnProperty, TE = TypeError, str = String, stringify = JSON.stringify;
return function recordFactory(writable, readOnly, name) {
  function refuse(k) {
    if (typeof k === "string" && hasOwn.call(readOnly, k)) return new TE("cannot set " + name + "." + k + ": " + readOnly[k]);
    return new TE(name + " has no field " + stringify(str(k)));
  }
  const handler = {
    set: function(t, k, v) {
      if (typeof k !== "string" || !hasOwn.call(writable, k)) throw refuse(k);
      t[k] = v === undefined ? null : v;
      return true;
    },
    deleteProperty: function(t, k) {
      if (typeof k !== "string" || !hasOwn.call(writable, k)) throw refuse(k);
      t[k] = null;
      return true;
    },
    defineProperty: function(t, k) { throw refuse(k); },
    setPrototypeOf: function() { throw new TE("cannot change the prototype of a record"); },
    preventExtensions: function() { throw new TE("cannot freeze a record"); }
  };
  return function(values) { return [new P(values, handler), values]; };
};
})()`

var recordPrg = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("forma:record", recordJS, true)
})

// prepareRecords installs the record builder in a hardened runtime.
func (v *vm) prepareRecords() error {
	res, err := v.rt.RunProgram(recordPrg())
	if err != nil {
		return fmt.Errorf("record helper: %w", err)
	}
	fn, ok := goja.AssertFunction(res)
	if !ok {
		return errors.New("record helper is not a function")
	}
	v.makeRecord = fn
	return nil
}

// Shape is what a record argument allows: its name for messages, the
// fields a script may assign, and why the others are read-only. A caller
// that makes many calls with records of one kind should share one Shape,
// so each runtime builds the record machinery for it once.
type Shape struct {
	Name     string
	Writable map[string]bool
	ReadOnly map[string]string // field → why it cannot be set
}

// recordArg turns a *Record into the script's view of it and the plain
// object holding its values, which is read back after the call.
func (v *vm) recordArg(r *Record) (view, target goja.Value, err error) {
	vals, err := v.toJS(r.Values, 0)
	if err != nil {
		return nil, nil, err
	}
	shape := r.Shape
	if shape == nil {
		shape = &Shape{Name: r.Name, Writable: r.Writable, ReadOnly: r.ReadOnly}
	}
	make, ok := v.shapes[shape]
	if !ok {
		if make, err = v.recordMaker(shape); err != nil {
			return nil, nil, err
		}
		if r.Shape != nil { // only shared shapes are worth keeping
			if len(v.shapes) >= maxShapes {
				clear(v.shapes)
			}
			v.shapes[shape] = make
		}
	}
	pair, err := make(goja.Undefined(), vals)
	if err != nil {
		return nil, nil, err
	}
	o := pair.ToObject(v.rt)
	return o.Get("0"), o.Get("1"), nil
}

// maxShapes bounds the record makers one runtime keeps.
const maxShapes = 256

func (v *vm) recordMaker(shape *Shape) (goja.Callable, error) {
	w := v.rt.NewObject()
	for k, ok := range shape.Writable {
		if ok {
			if err := w.Set(k, true); err != nil {
				return nil, err
			}
		}
	}
	ro := v.rt.NewObject()
	for k, why := range shape.ReadOnly {
		if err := ro.Set(k, why); err != nil {
			return nil, err
		}
	}
	name := shape.Name
	if name == "" {
		name = "record"
	}
	res, err := v.makeRecord(goja.Undefined(), w, ro, v.rt.ToValue(name))
	if err != nil {
		return nil, err
	}
	fn, ok := goja.AssertFunction(res)
	if !ok {
		return nil, errors.New("record maker is not a function")
	}
	return fn, nil
}

// prepareNatives builds, once per runtime, a frozen object per declared
// native object (db) holding one dispatcher per declared function. Scripts
// receive them as parameters; a dispatcher calls the current call's Go
// function, or throws when the call brought none.
func (v *vm) prepareNatives() error {
	for _, name := range v.e.nativeNames {
		obj := v.rt.NewObject()
		fns := append([]string{}, v.e.opts.Natives[name]...)
		sort.Strings(fns)
		for _, fname := range fns {
			if err := obj.Set(fname, v.dispatcher(name, fname)); err != nil {
				return err
			}
		}
		if _, err := v.deepFreez(goja.Undefined(), obj); err != nil {
			return err
		}
		v.nativeObjs = append(v.nativeObjs, obj)
	}
	return nil
}

const sealJS = "Object.preventExtensions(globalThis)"

var sealPrg = sync.OnceValue(func() *goja.Program { return goja.MustCompile("forma:seal", sealJS, true) })

// dispatcher is the JS function behind a native: plain values in, plain
// value out, errors thrown as Error objects.
func (v *vm) dispatcher(obj, fname string) func(goja.FunctionCall) goja.Value {
	name := obj + "." + fname
	return func(call goja.FunctionCall) goja.Value {
		fn := v.natives[obj][fname]
		if fn == nil {
			panic(v.newError(name + " is not available here"))
		}
		args := make([]any, len(call.Arguments))
		for i, a := range call.Arguments {
			x, err := v.plainArg(a)
			if err != nil {
				panic(v.newError(fmt.Sprintf("%s: argument %d: %s", name, i+1, err)))
			}
			args[i] = x
		}
		res, err := fn(v.nativeCtx, args)
		if err != nil {
			panic(v.newError(err.Error()))
		}
		val, err := v.toJS(res, 0)
		if err != nil {
			panic(v.newError(fmt.Sprintf("%s: result: %v", name, err)))
		}
		return val
	}
}

// plainArg converts one argument of a native call to plain Go values.
func (v *vm) plainArg(a goja.Value) (any, error) { return v.fromJS(a, 0) }

// newError makes a JS Error with msg (never a Go error object, which would
// expose a host value to the script).
func (v *vm) newError(msg string) *goja.Object {
	o, err := v.rt.New(v.rt.Get("Error"), v.rt.ToValue(msg))
	if err != nil {
		return v.rt.NewTypeError(msg)
	}
	return o
}
