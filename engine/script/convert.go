package script

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/dop251/goja"
)

// Values cross between Go and the runtime as plain data only. toJS builds
// JS objects and arrays itself and hands the runtime nothing but
// primitives (never rt.ToValue of a map or struct, which would expose a
// host object); fromJS reads plain objects, arrays, dates and primitives
// back and refuses everything else. Both work in Go, without a JSON round
// trip, because they sit on every hook and formula call.

// maxDepth bounds nesting both ways (a cyclic result is refused).
const maxDepth = 64

// toJS converts a plain Go value (what encoding/json would write) into a JS
// value of the runtime.
func (v *vm) toJS(x any, depth int) (goja.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nests deeper than %d levels", maxDepth)
	}
	rt := v.rt
	switch t := x.(type) {
	case nil:
		return goja.Null(), nil
	case bool:
		return rt.ToValue(t), nil
	case string:
		return rt.ToValue(t), nil
	case int:
		return rt.ToValue(int64(t)), nil
	case int64:
		return rt.ToValue(t), nil
	case int32:
		return rt.ToValue(int64(t)), nil
	case float64:
		return rt.ToValue(t), nil
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return rt.ToValue(i), nil
		}
		f, err := t.Float64()
		if err != nil {
			return nil, fmt.Errorf("bad number %q", string(t))
		}
		return rt.ToValue(f), nil
	case time.Time:
		return rt.ToValue(t.UTC().Format("2006-01-02T15:04:05.000000Z")), nil
	case json.RawMessage:
		return v.fromJSON(t)
	case map[string]any:
		o := rt.NewObject()
		for k, e := range t {
			jv, err := v.toJS(e, depth+1)
			if err != nil {
				return nil, err
			}
			if err := o.Set(k, jv); err != nil {
				return nil, err
			}
		}
		return o, nil
	case []any:
		vals := make([]any, len(t))
		for i, e := range t {
			jv, err := v.toJS(e, depth+1)
			if err != nil {
				return nil, err
			}
			vals[i] = jv
		}
		return rt.NewArray(vals...), nil
	case []string:
		vals := make([]any, len(t))
		for i, e := range t {
			vals[i] = rt.ToValue(e)
		}
		return rt.NewArray(vals...), nil
	}
	// Anything else (structs, typed maps and slices): through JSON, which
	// yields plain data by construction.
	b, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	return v.fromJSON(b)
}

// fromJS converts a JS value into plain Go values: map[string]any, []any,
// string, int64 (integral numbers below 2^63), float64, bool, nil. Dates
// become RFC 3339 text, undefined and NaN/±Infinity become nil (undefined
// properties are left out, as JSON does). Functions, symbols, BigInts,
// cycles and objects that are not plain (Map, RegExp, class instances,
// proxies...) are refused with what was found.
func (v *vm) fromJS(x goja.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nests deeper than %d levels (cyclic?)", maxDepth)
	}
	if x == nil || goja.IsUndefined(x) || goja.IsNull(x) {
		return nil, nil
	}
	if _, ok := x.(*goja.Symbol); ok {
		return nil, fmt.Errorf("contains a symbol")
	}
	o, isObj := x.(*goja.Object)
	if !isObj {
		switch e := x.Export().(type) {
		case string, bool:
			return e, nil
		case int64:
			return e, nil
		case float64:
			if math.IsNaN(e) || math.IsInf(e, 0) {
				return nil, nil
			}
			if e == math.Trunc(e) && math.Abs(e) < 9.2e18 {
				return int64(e), nil
			}
			return e, nil
		}
		if goja.IsBigInt(x) {
			return nil, fmt.Errorf("contains a BigInt")
		}
		return nil, fmt.Errorf("contains an unsupported value")
	}
	if _, fn := goja.AssertFunction(o); fn {
		return nil, fmt.Errorf("contains a function")
	}
	proto := o.Prototype()
	switch {
	case proto == v.arrayProto && o.ClassName() == "Array":
		n := o.Get("length").ToInteger()
		if n > maxArray {
			return nil, fmt.Errorf("contains an array of %d items", n)
		}
		out := make([]any, n)
		for i := int64(0); i < n; i++ {
			e, err := v.fromJS(o.Get(strconv.FormatInt(i, 10)), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case proto == v.dateProto && o.ClassName() == "Date":
		if t, ok := o.Export().(time.Time); ok {
			return t.UTC().Format("2006-01-02T15:04:05.000Z"), nil
		}
		return nil, nil // an invalid date, as JSON writes it
	case (proto == v.objectProto || proto == nil) && o.ClassName() == "Object":
		keys := o.Keys()
		out := make(map[string]any, len(keys))
		for _, k := range keys {
			pv := o.Get(k)
			if pv == nil || goja.IsUndefined(pv) {
				continue
			}
			e, err := v.fromJS(pv, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	}
	name := "non-plain object"
	if proto != nil {
		if c, ok := proto.Get("constructor").(*goja.Object); ok {
			if n := c.Get("name"); n != nil && n.String() != "" {
				name = n.String()
			}
		}
	}
	if o.ClassName() == "Proxy" {
		name = "Proxy"
	}
	return nil, fmt.Errorf("contains a %s", name)
}

// maxArray bounds an array read back from a script.
const maxArray = 1 << 20
