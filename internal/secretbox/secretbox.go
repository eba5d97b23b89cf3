// Package secretbox encrypts small secrets (webhook signing secrets) for
// storage with AES-256-GCM under one key from the environment.
//
// A sealed value is text, so it fits the column the plaintext used to live in:
//
//	"v1:" + base64(nonce[12] | ciphertext | tag[16])
//
// The "v1:" prefix names the format (AES-256-GCM, random 96-bit nonce) so a
// later format, or a key identifier for key rotation, can sit next to it. The
// caller passes associated data (for example the row's ID): a sealed value
// copied to another row does not open there.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

// Prefix starts every sealed value of the current format.
const Prefix = "v1:"

const nonceSize = 12 // the standard GCM nonce

// Errors of Open. Neither says anything about the plaintext or the key.
var (
	// ErrMalformed: the value is not a v1 sealed value (no prefix, bad
	// base64, too short).
	ErrMalformed = errors.New("secretbox: malformed sealed value")
	// ErrDecrypt: authentication failed: wrong key, wrong associated data,
	// or the value was altered.
	ErrDecrypt = errors.New("secretbox: cannot decrypt: wrong key or altered value")
)

// Box seals and opens values under one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	rand io.Reader
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secretbox: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead: aead, rand: rand.Reader}, nil
}

// NewKey returns a fresh random key.
func NewKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secretbox: generate key: %w", err)
	}
	return key, nil
}

// EncodeKey returns the text form of a key: standard base64 (44 characters).
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }

// ParseKey reads a key in its text form: standard or URL-safe base64, with
// or without padding, of exactly 32 bytes. (`openssl rand -base64 32` makes
// one.) Its error never repeats the value.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("secretbox: key decodes to %d bytes, want %d", len(key), KeySize)
			}
			return key, nil
		}
	}
	return nil, errors.New("secretbox: key is not base64")
}

// IsSealed reports whether s has the prefix of a sealed value. Values
// without it were stored before encryption existed (plaintext).
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

// Seal encrypts plaintext bound to associatedData with a fresh random nonce.
func (b *Box) Seal(plaintext, associatedData []byte) (string, error) {
	nonce := make([]byte, nonceSize, nonceSize+len(plaintext)+b.aead.Overhead())
	if _, err := io.ReadFull(b.rand, nonce); err != nil {
		return "", fmt.Errorf("secretbox: nonce: %w", err)
	}
	return b.sealWithNonce(nonce, plaintext, associatedData), nil
}

// sealWithNonce appends the ciphertext to nonce (which must be fresh:
// GCM loses everything if a nonce repeats under one key).
func (b *Box) sealWithNonce(nonce, plaintext, associatedData []byte) string {
	out := b.aead.Seal(nonce, nonce, plaintext, associatedData)
	return Prefix + base64.StdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same associated data.
func (b *Box) Open(sealed string, associatedData []byte) ([]byte, error) {
	enc, ok := strings.CutPrefix(sealed, Prefix)
	if !ok {
		return nil, ErrMalformed
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(raw) < nonceSize+b.aead.Overhead() {
		return nil, ErrMalformed
	}
	plain, err := b.aead.Open(nil, raw[:nonceSize], raw[nonceSize:], associatedData)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}
