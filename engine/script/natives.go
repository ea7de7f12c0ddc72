package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/dop251/goja"
)

// Shape is what a record argument allows: its name for messages, the
// fields a script may assign, and why the others are read-only. A caller
// that makes many calls with records of one kind should share one Shape,
// so each runtime builds the record machinery for it once.
type Shape struct {
	Name string
	// Fields, when set, are all the record's fields in order: a field
	// missing from Values reads as null, and Object.keys lists them all.
	// Each must be in Writable or ReadOnly.
	Fields   []string
	Writable map[string]bool
	ReadOnly map[string]string // field → why it cannot be set
}

// field reports whether key is one of a Fields shape's fields.
func (s *Shape) field(key string) bool {
	if s.Fields == nil {
		return false
	}
	if s.Writable[key] {
		return true
	}
	_, ok := s.ReadOnly[key]
	return ok
}

// record is the object a script sees for a *Record argument: a dynamic
// object over the Go values, which converts a field to JS only when the
// script reads it and keeps what the script assigns, so a hook that touches
// two fields of a forty-field record pays for two. Assigning a field that is
// not writable throws a TypeError naming it (a typo fails loudly at its
// line instead of being ignored); assigning undefined or deleting a field
// sets it to null.
type record struct {
	v     *vm
	shape *Shape
	vals  map[string]any
	js    map[string]goja.Value // fields converted or assigned
	set   map[string]bool       // fields assigned
	keys  []string
}

func (r *record) Get(key string) goja.Value {
	if jv, ok := r.js[key]; ok {
		return jv
	}
	x, ok := r.vals[key]
	if !ok {
		if r.shape.field(key) {
			return goja.Null() // a field without a value
		}
		return nil
	}
	jv, err := r.v.toJS(x, 0)
	if err != nil {
		panic(r.v.newError(fmt.Sprintf("%s.%s: %v", r.name(), key, err)))
	}
	r.js[key] = jv
	return jv
}

func (r *record) Set(key string, val goja.Value) bool {
	if !r.shape.Writable[key] {
		if why, ok := r.shape.ReadOnly[key]; ok {
			panic(r.v.rt.NewTypeError("cannot set " + r.name() + "." + key + ": " + why))
		}
		panic(r.v.rt.NewTypeError(r.name() + " has no field " + strconv.Quote(key)))
	}
	if val == nil || goja.IsUndefined(val) {
		val = goja.Null()
	}
	r.js[key] = val
	r.set[key] = true
	return true
}

func (r *record) Has(key string) bool {
	_, ok := r.vals[key]
	return ok || r.set[key] || r.shape.field(key)
}

func (r *record) Delete(key string) bool { return r.Set(key, goja.Null()) }

func (r *record) Keys() []string {
	if r.shape.Fields != nil {
		return r.shape.Fields
	}
	if r.keys == nil {
		r.keys = make([]string, 0, len(r.vals)+len(r.set))
		for k := range r.vals {
			r.keys = append(r.keys, k)
		}
		for k := range r.set {
			if _, ok := r.vals[k]; !ok {
				r.keys = append(r.keys, k)
			}
		}
		sort.Strings(r.keys)
	}
	return r.keys
}

func (r *record) name() string {
	if r.shape.Name == "" {
		return "record"
	}
	return r.shape.Name
}

// MarshalJSON writes the record's current values (console.log(record)).
func (r *record) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(r.vals))
	for _, k := range r.shape.Fields {
		out[k] = nil
	}
	for k, x := range r.vals {
		if !r.set[k] {
			out[k] = x
		}
	}
	for k := range r.set {
		if x, err := r.v.fromJS(r.js[k], 0); err == nil {
			out[k] = x
		}
	}
	return json.Marshal(out)
}

// recordArg turns a *Record into the script's view of it.
func (v *vm) recordArg(rec *Record) (goja.Value, *record) {
	shape := rec.Shape
	if shape == nil {
		shape = &Shape{Name: rec.Name, Writable: rec.Writable, ReadOnly: rec.ReadOnly}
	}
	r := &record{v: v, shape: shape, vals: rec.Values, js: map[string]goja.Value{}, set: map[string]bool{}}
	return v.rt.NewDynamicObject(r), r
}

// changes are the fields the script assigned, as plain values.
func (r *record) changes() (map[string]any, error) {
	out := make(map[string]any, len(r.set))
	for k := range r.set {
		x, err := r.v.fromJS(r.js[k], 0)
		if err != nil {
			return nil, fmt.Errorf("%s.%s %v", r.name(), k, err)
		}
		out[k] = x
	}
	return out, nil
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
		// While Go works for the script, the memory guard does not
		// charge the call for the process's growth (memory.go).
		// Nor does the script-time limit count it (budget.go).
		if v.mem != nil {
			v.mem.inNative.Store(true)
		}
		if v.budget != nil {
			v.budget.pause()
		}
		res, err := fn(v.nativeCtx, args)
		if v.budget != nil {
			v.budget.resume()
		}
		if v.mem != nil {
			v.mem.inNative.Store(false)
		}
		if err != nil && v.nativeCtx.Err() != nil && v.stop != nil {
			// The call's wall-time cap passed (or its caller gave up)
			// while Go worked for it: stop the call, rather than throw
			// an error the script could catch and go on after.
			if errors.Is(v.nativeCtx.Err(), context.DeadlineExceeded) {
				v.stop(reasonWall)
			} else {
				v.stop(reasonCanceled)
			}
			return goja.Undefined()
		}
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
