package schema

// Every problem a check reports carries a stable code (what kind of problem)
// and params (its particulars: the field, the entity, the value, the limit),
// so a UI words it in the user's language with labels instead of showing
// the English message (issue 21, "errors a person can act on").
//
// Checks keep writing Problems.Add(path, format, args...) with their English
// wording; Add finds the code and the names of the format's arguments in
// problemFormats below. A format that is only a carrier ("%s" of a message
// made elsewhere) cannot name its kind, so those sites call AddCode. The
// test TestEveryAddHasACode reads this package's source and fails on any
// Add whose format is not in the table, so a new or reworded check cannot
// ship without a code; Codes lists every code for the UI's table
// (builder-ui/src/problems.ts).

// formatCode is the code of one message format and the param name of each
// of its arguments in order ("" drops an argument: a "did you mean" hint, a
// pointer to the earlier duplicate).
type formatCode struct {
	code   string
	params []string
}

func fc(code string, params ...string) formatCode { return formatCode{code, params} }

// Codes is every stable problem code schema.Check and Parse report, with
// the params each may carry. Records and the API add their own (see
// engine/records/codes.go); the UI renders both.
var Codes = map[string]string{
	"required":        "a required key is missing (key)",
	"unknown_field":   "a field name that the entity does not have (field, entity)",
	"unknown_entity":  "an entity name that the app does not have (entity)",
	"unknown_role":    "a role name that the app does not have (role)",
	"unknown_script":  "a script name that the app does not have (script)",
	"unknown_param":   "a dashboard parameter that does not exist (param)",
	"unknown_value":   "a keyword that is not one of the allowed ones (value, options)",
	"duplicate_name":  "a name used twice (name, kind)",
	"duplicate_id":    "an id used twice (id, kind)",
	"duplicate_item":  "an item listed twice (value)",
	"invalid_name":    "a name that breaks the naming rule or is reserved (name)",
	"id_format":       "an id that breaks the id rule",
	"name_too_long":   "a derived table name longer than the database allows (name, limit)",
	"not_applicable":  "a setting given where it does not apply (key, type)",
	"computed":        "a computed field given a setting only stored fields take (type)",
	"option":          "a value that is not one of the allowed options (value, options)",
	"type":            "a value of the wrong kind (expected)",
	"range":           "a number outside its allowed range (limit)",
	"min":             "a number below its minimum (value, limit)",
	"max":             "a number above its maximum (value, limit)",
	"max_length":      "a text longer than allowed (limit)",
	"min_length":      "a text shorter than allowed (limit)",
	"min_items":       "a list with too few items (limit)",
	"max_items":       "a list with too many items (limit)",
	"precision":       "decimal scale and precision that contradict (scale, precision)",
	"number":          "a number the field cannot hold (value)",
	"format":          "a date, time or JSON text that does not parse",
	"invalid_json":    "a default that is not JSON",
	"expression":      "a formula, condition or measure that does not parse or names what does not exist",
	"ref_depth":       "a formula reading through more than one ref (ref)",
	"not_a_ref":       "a dotted name whose first part is not a ref field (ref, field)",
	"rollup":          "a rollup whose via, field or returns do not fit (entity, field, op)",
	"returns":         "a computed field's returns that do not fit its value (op)",
	"cycle":           "computed fields or required refs that depend on themselves",
	"reader_rollup":   "a stored value computed from a per-reader rollup (field)",
	"on_delete":       "onDelete setNull on a required ref",
	"hook":            "a hook that is unknown or not script#function (hook)",
	"system_field":    "a system column used where only fields go (field)",
	"placed_twice":    "a field placed twice in one layout (field)",
	"layout":          "a form or list layout with the other kind's keys, or a second layout of a kind",
	"validation":      "a validation rule missing its expr or message",
	"automation":      "an automation, trigger or action missing what it needs or given what it does not take",
	"not_writable":    "an action setting a field that cannot be written (field)",
	"recipient":       "a notify recipient field that is not a user field (field)",
	"dashboard":       "a dashboard, widget or query shape that does not fit",
	"group_by":        "a dimension or period on a field that cannot group (field, type)",
	"reserved_param":  "@me used as a parameter name",
	"admin_role":      "a role named admin",
	"id_not_hideable": "the id hidden or read-only in a role",
	"clock_variable":  "a clock-driven trigger's filter using @me or another reader variable (field, variable)",
	"choose_one":      "a request giving both or neither of two keys that exclude each other",
	"script":          "a script that does not compile or fails (script, line, column)",
	"internal":        "an internal failure while checking; retry or report it",
	"url":             "a webhook address that is refused (not https, private)",
	"invalid_id":      "a value that is not a record id (value)",
	// Used by the API's own request checks and by migration plans.
	"totals":          "a totals request that names what cannot be totalled",
	"same_user":       "records transferred to the user they come from",
	"inactive_user":   "records transferred to a deactivated user",
	"destructive":     "a migration step that loses data without allowDestructive",
	"unique_conflict": "a field made unique while records share a value",
	"conversion":      "a field type change the stored values cannot make",
	"table_exists":    "an entity whose table another app already has",
	"dotted_name":     "a ref's field (ref.field) where only the entity's own fields go (field, position)",
	"currency":        "a currency that is not an ISO 4217 code, or on a value that is not a number (value)",
	"pattern":         "a value that does not match its pattern (pattern)",
	"invalid":         "a document that cannot be read, or a schema rule with no finer code",
	// Warnings (warnings.go): publishing goes ahead.
	"ref_target_unreadable":      "a role may fill in a ref whose target it cannot read (role, entity, field, target)",
	"ref_target_partly_readable": "a role may fill in a ref whose target it reads only partly (role, entity, field, target)",
}

// problemFormats maps each message format of this package to its code.
var problemFormats = map[string]formatCode{
	"%q does not apply to %s fields; it is only for %s fields":                                       fc("not_applicable", "key", "type", ""),
	"%q is already in this index (item %d)":                                                          fc("duplicate_item", "field", ""),
	"%q is listed twice":                                                                             fc("duplicate_item", "value"),
	"%q is not one of the field's options":                                                           fc("option", "value"),
	"%q is not one of the options: %s":                                                               fc("option", "value", "options"),
	"%q: %q is not a ref field, so it has no fields to read":                                         fc("not_a_ref", "ref", "field"),
	"%q: a formula can follow only one ref (write a formula on %q and use that)":                     fc("ref_depth", "ref", ""),
	"%q: entity %q has no field %q%s":                                                                fc("unknown_field", "ref", "entity", "field", ""),
	"%s field is computed by Forma, so it cannot be required":                                        fc("computed", "type"),
	"%s field is computed by Forma, so it cannot be unique":                                          fc("computed", "type"),
	"%s field is computed by Forma, so it cannot have a default":                                     fc("computed", "type"),
	"%s fields need \"options\": the values a user may pick":                                         fc("required", "type"),
	"%s is a %s field; recipients come from user fields":                                             fc("recipient", "field", "type"),
	"%s is a computed %s field and cannot be written":                                                fc("not_writable", "field", "type"),
	"%s is a date field; bucket it by day or longer":                                                 fc("group_by", "field"),
	"%s is a required ref to its own entity: no first %s could ever be created, so make it optional": fc("cycle", "field", "entity"),
	"%s is a system column; the form shows system columns itself":                                    fc("system_field", "field"),
	"%s is already placed at %s":                                                                     fc("placed_twice", "field", ""),
	"%s is greater than max (%s)":                                                                    fc("max", "value", "limit"),
	"%s is less than min (%s)":                                                                       fc("min", "value", "limit"),
	"%s is set by the server and cannot be written":                                                  fc("not_writable", "field"),
	"%s needs \"field\": the field of %q to aggregate":                                               fc("rollup", "op", "entity"),
	"%s reads %s, a rollup with \"visibility\": \"reader\" whose value depends on who reads it; a stored value cannot be computed from it": fc("reader_rollup", "", "field"),
	"%s.%s is %s field; via must be a ref field of %q that points at %q":                                                                   fc("rollup", "entity", "field", "type", "", ""),
	"%s.%s points at %q, not at %q; via must be a ref field of %q that points at this entity":                                              fc("rollup", "entity", "field", "target", "", ""),
	"@%s is a date range: use it as the query's period, not in the filter":                                                                 fc("dashboard", "param"),
	"a %s is a number: returns must be integer or decimal":                                                                                 fc("returns", "op"),
	"a %s trigger takes no %s":                                                                                    fc("not_applicable", "type", "key"),
	"a %s widget takes exactly one dimension":                                                                     fc("dashboard", "type"),
	"a %s widget takes one dimension (and optionally a second one for series)":                                    fc("dashboard", "type"),
	"a count is a number: returns must be integer or decimal":                                                     fc("returns"),
	"a fieldChanged trigger needs the field it watches":                                                           fc("automation"),
	"a kpi shows one figure: it takes no dimensions":                                                              fc("dashboard"),
	"a list view has columns, not sections (those belong to a \"form\" layout)":                                   fc("layout"),
	"a notify action needs a message":                                                                             fc("automation"),
	"a notify action needs recipients: owner, manager, roles, fields or users":                                    fc("automation"),
	"a period needs a date or datetime field; %s is a %s field":                                                   fc("group_by", "field", "type"),
	"a period needs a param or a preset":                                                                          fc("dashboard"),
	"a pivot shows every row and column; limit and other do not apply":                                            fc("dashboard"),
	"a pivot takes two dimensions: rows and columns":                                                              fc("dashboard"),
	"a query needs at least one measure, e.g. {\"name\": \"orders\", \"expr\": \"count()\"}":                      fc("dashboard"),
	"a record form has sections, not columns, sort or filter (those belong to a \"list\" layout)":                 fc("layout"),
	"a set action needs the fields it sets":                                                                       fc("automation"),
	"a transition trigger needs the flow whose transitions it watches":                                            fc("automation"),
	"a validation needs \"expr\": what must be true, e.g. \"discount <= 20 || approved\"":                         fc("validation"),
	"a validation needs \"message\": what the user sees when the rule fails":                                      fc("validation"),
	"a variant name has at most 63 bytes":                                                                         fc("max_length"),
	"a variant needs a name":                                                                                      fc("automation"),
	"a variant needs at least one action":                                                                         fc("automation"),
	"a webhook action needs a url":                                                                                fc("automation"),
	"a widget takes at least 1×1 cells inside the %d-column grid (x %d + w %d)":                                   fc("dashboard", "limit", "", ""),
	"admin is the platform administrator and cannot be redefined":                                                 fc("admin_role"),
	"an A/B test needs at least two variants":                                                                     fc("automation"),
	"an automation has either actions or variants, not both":                                                      fc("automation"),
	"an automation needs at least one action (or variants)":                                                       fc("automation"),
	"an index needs at least one field":                                                                           fc("min_items"),
	"at most 20 measures":                                                                                         fc("max_items"),
	"at most 3 dimensions":                                                                                        fc("max_items"),
	"automation name %q must match [a-z][a-z0-9_]{0,62}":                                                          fc("invalid_name", "name"),
	"cannot %s %s.%s: it holds %s values; %s needs an integer or decimal field":                                   fc("rollup", "op", "entity", "field", "type", ""),
	"cannot group by %s: a %s field has no single value per record":                                               fc("group_by", "field", "type"),
	"cannot sort by %q: entity %s has no such field%s":                                                            fc("unknown_field", "field", "entity", ""),
	"cannot sort by %q: sort by a measure or dimension name":                                                      fc("dashboard", "name"),
	"cannot take the %s of %s.%s: %s values have no order; use an integer, decimal, date, datetime or text field": fc("rollup", "op", "entity", "field", "type"),
	"column %s is listed twice":                                                                                   fc("placed_twice", "field"),
	"compare and target belong to kpi widgets":                                                                    fc("dashboard"),
	"comparing with the previous period needs a period in the query":                                              fc("dashboard"),
	"count_distinct does not add up into \"other\" or pivot totals; drop other or set \"totals\": false":          fc("dashboard"),
	"count_distinct does not add up into \"other\"":                                                               fc("dashboard"),
	"duplicate automation name %q (also at %s)":                                                                   fc("duplicate_name", "name", ""),
	"duplicate dashboard name %q (also at %s)":                                                                    fc("duplicate_name", "name", ""),
	"duplicate entity id %q (also at %s)":                                                                         fc("duplicate_id", "id", ""),
	"duplicate entity name %q (also at %s)":                                                                       fc("duplicate_name", "name", ""),
	"duplicate field id %q in entity %q (also at %s)":                                                             fc("duplicate_id", "id", "entity", ""),
	"duplicate field name %q in entity %q (also at %s)":                                                           fc("duplicate_name", "name", "entity", ""),
	"duplicate index name %q in entity %q (also at %s)":                                                           fc("duplicate_name", "name", "entity", ""),
	"duplicate parameter %q (also at %s)":                                                                         fc("duplicate_name", "name", ""),
	"duplicate role name %q":                                                                                      fc("duplicate_name", "name"),
	"duplicate value %q (same as item %d)":                                                                        fc("duplicate_item", "value", ""),
	"duplicate variant name %q (also at %s/variants/%d)":                                                          fc("duplicate_name", "name", "", ""),
	"duplicate widget id %q (also at %s)":                                                                         fc("duplicate_id", "id", ""),
	"entity %q has no field %q%s":                                                                                 fc("unknown_field", "entity", "field", ""),
	"entity %q has no field %q; via must be a ref field of %q that points at %q%s":                                fc("unknown_field", "entity", "field", "", "", ""),
	"entity %s already has a %s layout at /forms/%d":                                                              fc("layout", "entity", "kind", ""),
	"file fields cannot have a default":                                                                           fc("not_applicable"),
	"formula fields need \"expr\": the expression that computes them, e.g. \"amount * probability / 100\"":        fc("required"),
	"function must be \"script#function\", e.g. \"lead#grade\"":                                                   fc("hook"),
	"give either param or preset, not both":                                                                       fc("dashboard"),
	"group a datetime field by a bucket (hour, day, week, month, quarter or year)":                                fc("group_by"),
	"id cannot be hidden or read-only":                                                                            fc("id_not_hideable"),
	"is %d characters long; maxLength is %d":                                                                      fc("max_length", "length", "limit"),
	"is not valid JSON: %v":                                                                                       fc("invalid_json", ""),
	"limit must be between 1 and 10000":                                                                           fc("range"),
	"max (%s) is less than min (%s)":                                                                              fc("range", "max", "min"),
	"me is the viewer (@me) and cannot be a parameter":                                                            fc("reserved_param"),
	"missing required field %q":                                                                                   fc("required", "key"),
	"must be \"script#function\", e.g. \"%s#%s\", not %q":                                                         fc("hook", "", "", "value"),
	"must be a number or a numeric string such as \"12.50\" for a decimal field, not %s":                          fc("type", "value"),
	"must be a number, not %q":                                                                                    fc("type", "value"),
	"must be a string for a %s field, not %s":                                                                     fc("type", "type", "value"),
	"must be a whole number for an integer field, not %s":                                                         fc("type", "value"),
	"must be a whole number written without a decimal point or exponent, not %s":                                  fc("type", "value"),
	"must be an array of options for a multiselect field, e.g. [%q], not %s":                                      fc("type", "", "value"),
	"must be between 0 and %d":                                                                                    fc("range", "limit"),
	"must be between 1 and %d":                                                                                    fc("range", "limit"),
	"must be one of %s":                                                                                           fc("option", "options"),
	"must be one of %s%s":                                                                                         fc("option", "options", ""),
	"must be one of the options (a string), not %s":                                                               fc("option", "value"),
	"must be the id of a %s (a string), not %s":                                                                   fc("type", "kind", "value"),
	"must be true or false for a boolean field, not %s":                                                           fc("type", "value"),
	"must have at least 1 item":                                                                                   fc("min_items"),
	"must have at most %d items":                                                                                  fc("max_items", "limit"),
	"must not be empty":                                                                                           fc("required"),
	"name %q is already used at %s":                                                                               fc("duplicate_name", "name", ""),
	"no entity %q in this app":                                                                                    fc("unknown_entity", "entity"),
	"no entity %q in this app%s":                                                                                  fc("unknown_entity", "entity", ""),
	"no entity named %q in this app%s":                                                                            fc("unknown_entity", "entity", ""),
	"no field %q in entity %s":                                                                                    fc("unknown_field", "field", "entity"),
	"no field %q in entity %s%s":                                                                                  fc("unknown_field", "field", "entity", ""),
	"no parameter %q in this dashboard (a filter may use @me and the dashboard's ref and user parameters)":        fc("unknown_param", "param"),
	"no parameter %q in this dashboard":                                                                           fc("unknown_param", "param"),
	"no role named %q in this app%s":                                                                              fc("unknown_role", "role", ""),
	"no script named %q in \"scripts\"%s":                                                                         fc("unknown_script", "script", ""),
	"number %s is out of range":                                                                                   fc("number", "value"),
	"onDelete \"setNull\" contradicts \"required\": true: a required ref cannot be emptied when its target is deleted; use \"restrict\" or \"cascade\", or make the field optional": fc("on_delete"),
	"only a date or datetime field can be bucketed; %s is a %s field":                                                         fc("group_by", "field", "type"),
	"only a ref parameter names an entity":                                                                                    fc("not_applicable"),
	"other sums up the rows after the top N: it needs a limit and exactly one dimension":                                      fc("dashboard"),
	"parameter %q is not a daterange":                                                                                         fc("dashboard", "param"),
	"precision (%d) is less than the default scale (%d): set \"scale\" too":                                                   fc("precision", "precision", "scale"),
	"ref fields need \"entity\": the name of the entity they point to":                                                        fc("required"),
	"required refs form a cycle: %s → %s; no first record could ever be created, so make one of these refs optional":          fc("cycle", "", ""),
	"rollup fields need \"rollup\": {\"entity\", \"via\", \"op\", \"field\"}":                                                 fc("required"),
	"scale (%d) cannot be larger than precision (%d): scale counts the digits after the point out of precision digits in all": fc("precision", "scale", "precision"),
	"script name %q %s":                            fc("invalid_name", "name", ""),
	"sort by at most 5 fields":                     fc("max_items"),
	"sort by at most 5 keys":                       fc("max_items"),
	"stacked and horizontal belong to bar widgets": fc("dashboard"),
	"table name %q is %d bytes; PostgreSQL allows at most %d, so shorten the app or entity name": fc("name_too_long", "name", "", "limit"),
	"target must be a number":                                            fc("type"),
	"the %s of a %s field is a %s: add \"returns\": %q":                  fc("returns", "op", "type", "", "expected"),
	"the %s of a %s field is a %s: returns must be %q":                   fc("returns", "op", "type", "", "expected"),
	"the %s of a number is a number: returns must be integer or decimal": fc("returns", "op"),
	"the weight must be a whole number from 1 to %d":                     fc("range", "limit"),
	"totals belong to pivot widgets":                                     fc("dashboard"),
	"unknown action type %q%s":                                           fc("unknown_value", "value", ""),
	"unknown bucket %q (want %s)":                                        fc("unknown_value", "value", "options"),
	"unknown comparison %q (want previousPeriod)":                        fc("unknown_value", "value"),
	"unknown field %q: entity %q has no such field or system column%s":   fc("unknown_field", "field", "entity", ""),
	"unknown field %q: entity %q has no such field%s":                    fc("unknown_field", "field", "entity", ""),
	"unknown hook %q: hooks are %s%s":                                    fc("hook", "hook", "", ""),
	"unknown parameter type %q (want daterange, ref or user)":            fc("unknown_value", "value"),
	"unknown trigger type %q%s":                                          fc("unknown_value", "value", ""),
	"unknown widget type %q (want %s)":                                   fc("unknown_value", "value", "options"),

	"%q is not an ISO 4217 currency code such as CNY, USD or EUR": fc("currency", "value"),
	"a currency needs a number: this %s returns %s":               fc("currency", "type", "returns"),
	// Formats of the engine's checks (publish checks of roles, filters,
	// scripts and automations; request checks of the API).
	"%q is not a field name":   fc("unknown_field", "field"),
	"%q is not a record id":    fc("invalid_id", "value"),
	"%q is not an entity name": fc("unknown_entity", "entity"),
	"%s is a rollup with \"visibility\": \"reader\"; readers who may read only some %s records cannot sort by it": fc("reader_rollup", "field", "entity"),
	"%s: a %s trigger's %s cannot use @%s: it runs on the clock, for no one in particular":                        fc("clock_variable", "field", "", "key", "variable"),
	"a bulk change takes no version: each record is changed as it is when the job runs":                           fc("not_applicable"),
	"a list filter is checked against the published app; draft needs scope %q or %q":                              fc("not_applicable", "", ""),
	"a schedule trigger takes no %s":                                       fc("not_applicable", "key"),
	"a timer trigger needs the date or datetime field it counts from":      fc("automation"),
	"a timer trigger takes no %s":                                          fc("not_applicable", "key"),
	"cannot read whether this app may call private addresses: %v":          fc("internal", ""),
	"count is for filters":                                                 fc("not_applicable"),
	"entity %s has no %s hook":                                             fc("hook", "entity", "hook"),
	"entity %s has no formula field %q":                                    fc("unknown_field", "entity", "field"),
	"entity is required":                                                   fc("required"),
	"field %q is a %s field; a timer counts from a date or datetime field": fc("type", "field", "type"),
	"field is for formulas":                                                fc("not_applicable"),
	"generated logic of %s does not compile: %s":                           fc("internal", "entity", ""),
	"give either hook or formula, not both":                                fc("choose_one"),
	"give exactly one of ids (the selected records) and filter (every record it matches; \"\" for all)": fc("choose_one"),
	"give exactly one of set (the fields to change) and delete: true":                                   fc("choose_one"),
	"ids is empty: select at least one record":                                                          fc("min_items"),
	"line %d, column %d: %s": fc("script", "line", "column", ""),
	"missing required field \"baseVersion\": the published version this draft starts from (0 for a new app)": fc("required"),
	"mode must be %q or %q":                                            fc("option", "", ""),
	"must be 0 or more, not %d":                                        fc("min", "value"),
	"must be an app document (a JSON object)":                          fc("type"),
	"not a valid expression: %s":                                       fc("expression", ""),
	"record is required: the sample record to run on":                  fc("required"),
	"scope is for filters":                                             fc("not_applicable"),
	"scope must be %q, %q or %q":                                       fc("option", "", "", ""),
	"script %q has no top-level function %q":                           fc("hook", "script", "function"),
	"set is empty: name at least one field to change":                  fc("min_items"),
	"the draft of app %s must be named %q (or leave the name out)":     fc("invalid_name", "", "name"),
	"the expression is longer than %d bytes":                           fc("max_length", "limit"),
	"unknown field %q":                                                 fc("unknown_field", "field"),
	"unknown field %q: entity %q has no such date or datetime field%s": fc("unknown_field", "field", "entity", ""),
	"unknown function %q%s":                                            fc("expression", "function", ""),
}

// codeOf is the code and params of a problem worded by format with args.
func codeOf(format string, args []any) (string, map[string]any) {
	f, ok := problemFormats[format]
	if !ok {
		return "", nil
	}
	var params map[string]any
	for i, name := range f.params {
		if name == "" || i >= len(args) {
			continue
		}
		if params == nil {
			params = map[string]any{}
		}
		params[name] = paramValue(args[i])
	}
	return f.code, params
}

// paramValue is an argument as JSON shows it: names and types as strings.
func paramValue(v any) any {
	switch x := v.(type) {
	case FieldType:
		return string(x)
	case []byte:
		return string(x)
	case interface{ String() string }:
		return x.String()
	}
	return v
}
