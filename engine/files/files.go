// Package files keeps uploaded files: the bytes in a gocloud.dev/blob
// bucket (a folder under the data directory by default, an S3-compatible
// bucket by URL for several servers), their metadata in _forma_files
// (created by engine/store), thumbnails of images, and the removal of files
// no record references after a grace period.
package files

// STUB (files helper replaces this file).

// Service stores and serves files.
type Service struct{}
