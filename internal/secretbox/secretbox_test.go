package secretbox

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newBox(t *testing.T, key []byte) *Box {
	t.Helper()
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKnownAnswer checks the cipher and the layout against Test Case 16 of
// the GCM specification (McGrew & Viega; AES-256, 96-bit IV, with AAD): the
// sealed value must be exactly "v1:" + base64(IV | C | T).
func TestKnownAnswer(t *testing.T) {
	key := mustHex(t, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
	iv := mustHex(t, "cafebabefacedbaddecaf888")
	plain := mustHex(t, "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"+
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
	aad := mustHex(t, "feedfacedeadbeeffeedfacedeadbeefabaddad2")
	ciphertext := mustHex(t, "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"+
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662")
	tag := mustHex(t, "76fc6ece0f4e1768cddf8853bb2d551b")

	want := "v1:" + base64.StdEncoding.EncodeToString(append(append(append([]byte{}, iv...), ciphertext...), tag...))

	box := newBox(t, key)
	box.rand = bytes.NewReader(iv) // Seal draws exactly one nonce
	got, err := box.Seal(plain, aad)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("Seal\n got %s\nwant %s", got, want)
	}
	opened, err := box.Open(want, aad)
	if err != nil || !bytes.Equal(opened, plain) {
		t.Fatalf("Open(known value) = %x, %v", opened, err)
	}
}

// TestFormatVector pins the stored form of a webhook secret, so a change of
// layout or encoding cannot slip in unnoticed (stored rows depend on it).
// The value was checked against an independent AES-GCM implementation
// (Python's cryptography package).
func TestFormatVector(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, KeySize)
	const sealed = "v1:AAECAwQFBgcICQoLcrbiuNJzv23WV31h6ZoQYkPvmh3KHLKtK9Bsd8Bd0s0Y2sXDIke86f4dvq3RRXopyy8QfKNU"
	box := newBox(t, key)
	got, err := box.Open(sealed, []byte("ep_01"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if string(got) != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
		t.Fatalf("Open = %q", got)
	}
	box.rand = bytes.NewReader([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	again, err := box.Seal(got, []byte("ep_01"))
	if err != nil || again != sealed {
		t.Fatalf("Seal with the same nonce = %q, %v", again, err)
	}
}

func TestRoundTrip(t *testing.T) {
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	box := newBox(t, key)
	for _, plain := range []string{"", "x", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwwhsec_MfKQ9r8GKYq=", strings.Repeat("é", 300)} {
		sealed, err := box.Seal([]byte(plain), []byte("ep_1"))
		if err != nil {
			t.Fatal(err)
		}
		if !IsSealed(sealed) || len(plain) > 8 && strings.Contains(sealed, plain) {
			t.Fatalf("sealed %q of %q", sealed, plain)
		}
		got, err := box.Open(sealed, []byte("ep_1"))
		if err != nil || string(got) != plain {
			t.Fatalf("Open(Seal(%q)) = %q, %v", plain, got, err)
		}
	}
}

func TestFreshNonceEverySeal(t *testing.T) {
	box := newBox(t, bytes.Repeat([]byte{1}, KeySize))
	seen := map[string]bool{}
	for range 100 {
		sealed, err := box.Seal([]byte("same secret"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[sealed] {
			t.Fatalf("the same sealed value twice: %s", sealed)
		}
		seen[sealed] = true
	}
}

func TestTamperingIsDetected(t *testing.T) {
	box := newBox(t, bytes.Repeat([]byte{7}, KeySize))
	sealed, err := box.Seal([]byte("whsec_secret"), []byte("ep_1"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, Prefix))

	// Every bit of nonce, ciphertext and tag is covered.
	for i := range raw {
		for bit := range 8 {
			altered := bytes.Clone(raw)
			altered[i] ^= 1 << bit
			_, err := box.Open(Prefix+base64.StdEncoding.EncodeToString(altered), []byte("ep_1"))
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("byte %d bit %d flipped: err = %v", i, bit, err)
			}
		}
	}
	if _, err := box.Open(sealed, []byte("ep_2")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("other associated data: err = %v", err)
	}
	other := newBox(t, bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(sealed, []byte("ep_1")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("other key: err = %v", err)
	}
	truncated := Prefix + base64.StdEncoding.EncodeToString(raw[:len(raw)-1])
	if _, err := box.Open(truncated, []byte("ep_1")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("truncated: err = %v", err)
	}
}

func TestMalformed(t *testing.T) {
	box := newBox(t, bytes.Repeat([]byte{7}, KeySize))
	for _, s := range []string{
		"",
		"whsec_plaintext",
		"v2:AAAA",
		"v1:",
		"v1:!!!!",
		"v1:" + base64.StdEncoding.EncodeToString(make([]byte, nonceSize+15)), // shorter than nonce + tag
	} {
		if _, err := box.Open(s, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("Open(%q): err = %v, want ErrMalformed", s, err)
		}
	}
	if IsSealed("whsec_abc") || !IsSealed("v1:abc") {
		t.Error("IsSealed")
	}
}

func TestKeys(t *testing.T) {
	key, err := NewKey()
	if err != nil || len(key) != KeySize {
		t.Fatalf("NewKey = %d bytes, %v", len(key), err)
	}
	other, _ := NewKey()
	if bytes.Equal(key, other) {
		t.Fatal("two NewKey calls gave the same key")
	}
	text := EncodeKey(key)
	for _, form := range []string{
		text,
		" " + text + "\n",
		strings.TrimRight(text, "="),
		base64.URLEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key),
	} {
		got, err := ParseKey(form)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseKey(%q) = %x, %v", form, got, err)
		}
	}
	secretLooking := "c2VjcmV0LWtleS10aGF0LWlzLXRvby1zaG9ydA=="
	for _, bad := range []string{"", "not base64 at all!", secretLooking, EncodeKey(make([]byte, 16))} {
		_, err := ParseKey(bad)
		if err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
			continue
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("error repeats the key: %v", err)
		}
	}
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New with %d-byte key accepted", n)
		}
	}
}
