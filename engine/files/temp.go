package files

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Temporary objects: what waits in the bucket for a job that any server
// may run (an import's upload, imports/<id>), under keys of their own
// ("tmp/…"), apart from the uploads of file fields, which the collector
// manages through _forma_files. The job that uses one removes it.

func tempKey(key string) (string, error) {
	if key == "" || strings.Contains(key, "..") || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("files: bad temporary key %q", key)
	}
	return "tmp/" + key, nil
}

// PutTemp stores r under key.
func (s *Service) PutTemp(ctx context.Context, key string, r io.Reader) error {
	k, err := tempKey(key)
	if err != nil {
		return err
	}
	b, err := s.open(ctx)
	if err != nil {
		return err
	}
	w, err := b.NewWriter(ctx, k, nil)
	if err != nil {
		return fmt.Errorf("files: store %s: %w", key, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return fmt.Errorf("files: store %s: %w", key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("files: store %s: %w", key, err)
	}
	return nil
}

// OpenTemp reads what PutTemp stored under key.
func (s *Service) OpenTemp(ctx context.Context, key string) (io.ReadCloser, error) {
	k, err := tempKey(key)
	if err != nil {
		return nil, err
	}
	b, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	r, err := b.NewReader(ctx, k, nil)
	if err != nil {
		return nil, fmt.Errorf("files: read %s: %w", key, err)
	}
	return r, nil
}

// DeleteTemp removes key (gone already is fine).
func (s *Service) DeleteTemp(ctx context.Context, key string) error {
	k, err := tempKey(key)
	if err != nil {
		return err
	}
	return s.deleteBlobs(ctx, k)
}
