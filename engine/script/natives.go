package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
return function makeRecord(values, writable, readOnly, name) {
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
  return [new P(values, handler), values];
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

// recordArg turns a *Record into the script's view of it and the plain
// object holding its values, which is read back after the call.
func (v *vm) recordArg(r *Record, values []byte) (view, target goja.Value, err error) {
	vals, err := v.fromJSON(values)
	if err != nil {
		return nil, nil, err
	}
	w := v.rt.NewObject()
	for k, ok := range r.Writable {
		if ok {
			if err := w.Set(k, true); err != nil {
				return nil, nil, err
			}
		}
	}
	ro := v.rt.NewObject()
	for k, why := range r.ReadOnly {
		if err := ro.Set(k, why); err != nil {
			return nil, nil, err
		}
	}
	name := r.Name
	if name == "" {
		name = "record"
	}
	pair, err := v.makeRecord(goja.Undefined(), vals, w, ro, v.rt.ToValue(name))
	if err != nil {
		return nil, nil, err
	}
	o := pair.ToObject(v.rt)
	return o.Get("0"), o.Get("1"), nil
}

// installNatives defines each native object as a frozen global for one call.
func (v *vm) installNatives(ctx context.Context, natives map[string]map[string]Native) error {
	g := v.rt.GlobalObject()
	for name, fns := range natives {
		obj := v.rt.NewObject()
		for fname, fn := range fns {
			if !identRE.MatchString(fname) {
				return fmt.Errorf("native %s.%s is not an identifier", name, fname)
			}
			if err := obj.Set(fname, v.native(ctx, name+"."+fname, fn)); err != nil {
				return err
			}
		}
		if _, err := v.deepFreez(goja.Undefined(), obj); err != nil {
			return err
		}
		if err := g.DefineDataProperty(name, obj, goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			return fmt.Errorf("native global %q clashes with a built-in", name)
		}
	}
	return nil
}

// native wraps a Go function for the script: plain values in, plain value
// out, errors thrown as Error objects.
func (v *vm) native(ctx context.Context, name string, fn Native) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		args := make([]any, len(call.Arguments))
		for i, a := range call.Arguments {
			x, err := v.plainArg(a)
			if err != nil {
				panic(v.newError(fmt.Sprintf("%s: argument %d: %s", name, i+1, err)))
			}
			args[i] = x
		}
		res, err := fn(ctx, args)
		if err != nil {
			panic(v.newError(err.Error()))
		}
		b, err := json.Marshal(res)
		if err != nil {
			panic(v.newError(fmt.Sprintf("%s: result: %v", name, err)))
		}
		val, err := v.fromJSON(b)
		if err != nil {
			panic(v.newError(fmt.Sprintf("%s: result: %v", name, err)))
		}
		return val
	}
}

// plainArg converts one argument of a native call to plain Go values.
func (v *vm) plainArg(a goja.Value) (any, error) {
	r, err := v.toPlain(goja.Undefined(), a)
	if err != nil {
		return nil, err
	}
	pair := r.ToObject(v.rt)
	msg := pair.Get("1").String()
	if !pair.Get("0").ToBoolean() {
		return nil, errors.New(strings.TrimPrefix(msg, "result "))
	}
	dec := json.NewDecoder(strings.NewReader(msg))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return numbers(out), nil
}

// newError makes a JS Error with msg (never a Go error object, which would
// expose a host value to the script).
func (v *vm) newError(msg string) *goja.Object {
	o, err := v.rt.New(v.rt.Get("Error"), v.rt.ToValue(msg))
	if err != nil {
		return v.rt.NewTypeError(msg)
	}
	return o
}
