package records

// SetTransferHook makes fn run inside TransferOwner's transaction after each
// entity's records have moved (an error fails the transfer); the returned
// func restores the previous hook.
func SetTransferHook(fn func(app, entity string) error) (restore func()) {
	old := transferHook
	transferHook = fn
	return func() { transferHook = old }
}

// SetDocumentHook makes fn run each time a request has read its app
// document, before it uses it; the returned func restores the previous hook.
func SetDocumentHook(fn func(app string)) (restore func()) {
	old := documentHook
	documentHook = fn
	return func() { documentHook = old }
}

// SetListHook makes fn see each list page's SQL (with "?" placeholders) and
// arguments; the returned func restores the previous hook.
func SetListHook(fn func(query string, args []any)) (restore func()) {
	old := listHook
	listHook = fn
	return func() { listHook = old }
}

// SetRefCheckHook makes fn see each existence check of a ref or user id
// that runs a statement; the returned func restores the previous hook.
func SetRefCheckHook(fn func(table, id string)) (restore func()) {
	old := refCheckHook
	refCheckHook = fn
	return func() { refCheckHook = old }
}
