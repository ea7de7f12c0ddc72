package records

// SetTransferHook makes fn run inside TransferOwner's transaction after each
// entity's records have moved (an error fails the transfer); the returned
// func restores the previous hook.
func SetTransferHook(fn func(app, entity string) error) (restore func()) {
	old := transferHook
	transferHook = fn
	return func() { transferHook = old }
}
