package plugin

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvSecretKey names the environment variable holding the secrets key
// (base64 of 32 bytes). Servers sharing one PostgreSQL must share it: a
// key file is per machine.
const EnvSecretKey = "FORMA_SECRET_KEY"

// SecretKeyBytes is the length of the secrets key (AES-256).
const SecretKeyBytes = 32

// ParseSecretKey reads a secrets key: the base64 of 32 bytes.
func ParseSecretKey(text string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(b) != SecretKeyBytes {
		return nil, fmt.Errorf("plugin: a secrets key is the base64 of %d bytes (openssl rand -base64 32)", SecretKeyBytes)
	}
	return b, nil
}

// loadKey finds the secrets key: Options.SecretKey, else $FORMA_SECRET_KEY,
// else the key file, created (0600, 32 random bytes) when absent. The key
// itself never goes in an error or a log line.
func loadKey(opts Options) ([]byte, error) {
	if opts.SecretKey != nil {
		if len(opts.SecretKey) != SecretKeyBytes {
			return nil, fmt.Errorf("the secrets key must be %d bytes, not %d", SecretKeyBytes, len(opts.SecretKey))
		}
		return opts.SecretKey, nil
	}
	if v := os.Getenv(EnvSecretKey); v != "" {
		k, err := ParseSecretKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvSecretKey, err)
		}
		return k, nil
	}
	if opts.KeyFile == "" {
		return nil, fmt.Errorf("no secrets key: set %s or a key file", EnvSecretKey)
	}
	b, err := os.ReadFile(opts.KeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(opts.KeyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read the secrets key file: %w", err)
	}
	k, err := ParseSecretKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("the secrets key file %s: %w", opts.KeyFile, err)
	}
	return k, nil
}

// createKeyFile writes a new random key to path, readable by its owner
// only. Two servers starting at once on one data folder agree: the one
// that loses the exclusive create reads the winner's key.
func createKeyFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create the secrets key file: %w", err)
	}
	k := make([]byte, SecretKeyBytes)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("create the secrets key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return nil, fmt.Errorf("read the secrets key file: %w", rerr)
		}
		return ParseSecretKey(string(b))
	}
	if err != nil {
		return nil, fmt.Errorf("create the secrets key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write the secrets key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write the secrets key file: %w", err)
	}
	return k, nil
}

// errUnseal is every failure to open sealed secrets: it says nothing of
// what was sealed.
var errUnseal = errors.New("plugin: the stored secrets cannot be decrypted with this server's key (was " + EnvSecretKey + " or the key file changed?)")

// seal encrypts plain with AES-256-GCM under the service's key, bound to
// aad (the app and plugin, so a sealed value copied to another row does
// not open there): base64 of nonce then ciphertext.
func (s *Service) seal(plain []byte, aad string) (string, error) {
	gcm, err := s.gcm()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("plugin: seal: %w", err)
	}
	return base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, plain, []byte(aad))), nil
}

// unseal opens what seal made.
func (s *Service) unseal(sealed, aad string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, errUnseal
	}
	gcm, err := s.gcm()
	if err != nil {
		return nil, err
	}
	if len(b) < gcm.NonceSize() {
		return nil, errUnseal
	}
	plain, err := gcm.Open(nil, b[:gcm.NonceSize()], b[gcm.NonceSize():], []byte(aad))
	if err != nil {
		return nil, errUnseal
	}
	return plain, nil
}

// secretKey returns the secrets key, loading it (and creating the key
// file) on first need.
func (s *Service) secretKey() ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key == nil {
		k, err := loadKey(s.opts)
		if err != nil {
			return nil, fmt.Errorf("plugin: %w", err)
		}
		s.key = k
	}
	return s.key, nil
}

func (s *Service) gcm() (cipher.AEAD, error) {
	key, err := s.secretKey()
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("plugin: the secrets key: %w", err)
	}
	return cipher.NewGCM(block)
}
