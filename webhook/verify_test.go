package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	signedAt  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	oldSecret = testSecret(1)
	newSecret = testSecret(2)
	testBody  = []byte(`{"id":"evt_1","type":"scan.created","data":{}}`)
)

func testSecret(fill byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32))
}

func mustSign(t *testing.T, secrets []string, msgID string, ts time.Time, body []byte) Signature {
	t.Helper()
	sig, err := Sign(secrets, msgID, ts, body)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func headerOf(sig Signature) http.Header {
	h := http.Header{}
	sig.Apply(h)
	return h
}

func without(h http.Header, names ...string) http.Header {
	h = h.Clone()
	for _, n := range names {
		h.Del(n)
	}
	return h
}

func with(h http.Header, name, value string) http.Header {
	h = h.Clone()
	h.Set(name, value)
	return h
}

func TestVerify(t *testing.T) {
	one := headerOf(mustSign(t, []string{oldSecret}, "msg_1", signedAt, testBody))
	rotating := headerOf(mustSign(t, []string{oldSecret, newSecret}, "msg_1", signedAt, testBody))
	scanForgeOnly := without(one, HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature)
	standardOnly := without(one, HeaderSignature)
	tampered := []byte(`{"id":"evt_1","type":"scan.created","data":{"x":1}}`)

	tests := []struct {
		name      string
		secret    string
		header    http.Header
		body      []byte
		tolerance time.Duration
		now       time.Time
		want      error
	}{
		{"both forms", oldSecret, one, testBody, 0, signedAt, nil},
		{"scanforge form only", oldSecret, scanForgeOnly, testBody, 0, signedAt, nil},
		{"standard form only", oldSecret, standardOnly, testBody, 0, signedAt, nil},
		{"tampered body", oldSecret, one, tampered, 0, signedAt, ErrNoMatchingSignature},
		{"tampered body, standard form", oldSecret, standardOnly, tampered, 0, signedAt, ErrNoMatchingSignature},
		{"tampered message id", oldSecret, with(standardOnly, HeaderWebhookID, "msg_2"), testBody, 0, signedAt, ErrNoMatchingSignature},
		{"tampered timestamp", oldSecret, with(standardOnly, HeaderWebhookTimestamp, "1767225601"), testBody, 0, signedAt, ErrNoMatchingSignature},
		{"wrong secret", newSecret, one, testBody, 0, signedAt, ErrNoMatchingSignature},
		{"wrong secret, standard form", newSecret, standardOnly, testBody, 0, signedAt, ErrNoMatchingSignature},

		{"rotation, old secret", oldSecret, rotating, testBody, 0, signedAt, nil},
		{"rotation, new secret", newSecret, rotating, testBody, 0, signedAt, nil},
		{"rotation, old secret, standard form", oldSecret, without(rotating, HeaderSignature), testBody, 0, signedAt, nil},
		{"rotation, new secret, standard form", newSecret, without(rotating, HeaderSignature), testBody, 0, signedAt, nil},
		{"rotation, unrelated secret", testSecret(3), rotating, testBody, 0, signedAt, ErrNoMatchingSignature},

		{"at the tolerance edge", oldSecret, one, testBody, 0, signedAt.Add(DefaultTolerance), nil},
		{"stale", oldSecret, one, testBody, 0, signedAt.Add(DefaultTolerance + time.Second), ErrTimestampOutOfTolerance},
		{"stale, standard form", oldSecret, standardOnly, testBody, 0, signedAt.Add(time.Hour), ErrTimestampOutOfTolerance},
		{"future", oldSecret, one, testBody, 0, signedAt.Add(-DefaultTolerance - time.Second), ErrTimestampOutOfTolerance},
		{"future, standard form", oldSecret, standardOnly, testBody, 0, signedAt.Add(-time.Hour), ErrTimestampOutOfTolerance},
		{"custom tolerance accepts", oldSecret, one, testBody, 10 * time.Minute, signedAt.Add(8 * time.Minute), nil},
		{"default tolerance rejects", oldSecret, one, testBody, 0, signedAt.Add(8 * time.Minute), ErrTimestampOutOfTolerance},
		{"custom tolerance rejects", oldSecret, one, testBody, time.Minute, signedAt.Add(2 * time.Minute), ErrTimestampOutOfTolerance},
		{"negative tolerance is default", oldSecret, one, testBody, -time.Second, signedAt.Add(4 * time.Minute), nil},
		{"stale and tampered reports the signature", oldSecret, one, tampered, 0, signedAt.Add(time.Hour), ErrNoMatchingSignature},

		{"no headers", oldSecret, http.Header{}, testBody, 0, signedAt, ErrMissingSignature},
		{"nil header", oldSecret, nil, testBody, 0, signedAt, ErrMissingSignature},
		{"standard without id", oldSecret, without(standardOnly, HeaderWebhookID), testBody, 0, signedAt, ErrMissingSignature},
		{"standard without timestamp", oldSecret, without(standardOnly, HeaderWebhookTimestamp), testBody, 0, signedAt, ErrMissingSignature},
		{"standard without signature", oldSecret, without(standardOnly, HeaderWebhookSignature), testBody, 0, signedAt, ErrMissingSignature},

		{"scanforge preferred over broken standard", oldSecret, with(one, HeaderWebhookSignature, "garbage"), testBody, 0, signedAt, nil},
		{"broken scanforge does not fall back", oldSecret, with(one, HeaderSignature, "garbage"), testBody, 0, signedAt, ErrMalformedSignature},

		{"secret without prefix", strings.TrimPrefix(oldSecret, SecretPrefix), one, testBody, 0, signedAt, ErrInvalidSecret},
		{"secret not base64", "whsec_???", one, testBody, 0, signedAt, ErrInvalidSecret},
		{"empty secret, no headers", "", http.Header{}, testBody, 0, signedAt, ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.header, tt.body, tt.tolerance, tt.now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyScanForgeHeaderSyntax(t *testing.T) {
	sig := mustSign(t, []string{oldSecret}, "msg_1", signedAt, testBody)
	ts := sig.WebhookTimestamp
	good := strings.TrimPrefix(sig.ScanForge, "t="+ts+",v1=")
	if len(good) != 64 {
		t.Fatalf("unexpected header %q", sig.ScanForge)
	}
	other := hex.EncodeToString(bytes.Repeat([]byte{7}, 32))

	tests := []struct {
		header string
		want   error
	}{
		{"t=" + ts + ",v1=" + good, nil},
		{"v1=" + good + ",t=" + ts, nil},
		{"t=" + ts + ", v1=" + good, nil},
		{"t=" + ts + ",v0=whatever,v1=" + good, nil},
		{"t=" + ts + ",v1=" + other + ",v1=" + good, nil},
		{"t=" + ts + ",v1=" + strings.ToUpper(good), nil},

		{"", ErrMissingSignature},
		{"garbage", ErrMalformedSignature},
		{"v1=" + good, ErrMalformedSignature},
		{"t=,v1=" + good, ErrMalformedSignature},
		{"t=abc,v1=" + good, ErrMalformedSignature},
		{"t=-" + ts + ",v1=" + good, ErrMalformedSignature},
		{"t=+" + ts + ",v1=" + good, ErrMalformedSignature},
		{"t=99999999999999999999,v1=" + good, ErrMalformedSignature},
		{"t=" + ts + ",t=" + ts + ",v1=" + good, ErrMalformedSignature},
		{"t=" + ts + ",v1=zz" + good[2:], ErrMalformedSignature},
		{"t=" + ts + ",v1=" + good[:62], ErrMalformedSignature},
		{"t=" + ts + ",v1=" + good + "00", ErrMalformedSignature},
		{"t=" + ts + ",v1=" + good + ",", ErrMalformedSignature},
		{"t=" + ts + ",v1=" + other + ",v1=nothex", ErrMalformedSignature},

		{"t=" + ts, ErrNoMatchingSignature},
		{"t=" + ts + ",v0=" + good, ErrNoMatchingSignature},
		{"t=" + ts + ",v1=" + other, ErrNoMatchingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			err := VerifyScanForge(oldSecret, tt.header, testBody, 0, signedAt)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyScanForge = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyStandardHeaderSyntax(t *testing.T) {
	sig := mustSign(t, []string{oldSecret}, "msg_1", signedAt, testBody)
	ts := sig.WebhookTimestamp
	good := sig.WebhookSignature
	other := "v1," + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))

	tests := []struct {
		name      string
		timestamp string
		signature string
		want      error
	}{
		{"one", ts, good, nil},
		{"second of two", ts, other + " " + good, nil},
		{"extra spaces", ts, "  " + other + "   " + good + " ", nil},
		{"unknown version ignored", ts, "v1a,c2lnbmF0dXJl " + good, nil},

		{"not version,signature", ts, "garbage", ErrMalformedSignature},
		{"not base64", ts, "v1,!!!!", ErrMalformedSignature},
		{"short", ts, "v1,AAAA", ErrMalformedSignature},
		{"bad among good", ts, good + " v1,AAAA", ErrMalformedSignature},
		{"timestamp not a number", "soon", good, ErrMalformedSignature},
		{"timestamp with space", " " + ts, good, ErrMalformedSignature},

		{"only unknown version", ts, "v1a,c2lnbmF0dXJl", ErrNoMatchingSignature},
		{"only other", ts, other, ErrNoMatchingSignature},
		{"only spaces", ts, "   ", ErrNoMatchingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyStandard(oldSecret, "msg_1", tt.timestamp, tt.signature, testBody, 0, signedAt)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyStandard = %v, want %v", err, tt.want)
			}
		})
	}
}

// unsizedReader hides its length so net/http sends the body chunked.
type unsizedReader struct{ io.Reader }

func TestVerifierVerifyRequest(t *testing.T) {
	now := signedAt.Add(time.Minute)
	v := Verifier{Secret: oldSecret, Now: func() time.Time { return now }}
	type result struct {
		body []byte
		err  error
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := v.VerifyRequest(r)
		results <- result{body, err}
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()

	big := bytes.Repeat([]byte("a"), MaxBodyBytes+1)
	max := bytes.Repeat([]byte("a"), MaxBodyBytes)
	tests := []struct {
		name   string
		signed []byte // body the signature covers
		sent   io.Reader
		want   error
	}{
		{"valid", testBody, bytes.NewReader(testBody), nil},
		{"valid, chunked", testBody, unsizedReader{bytes.NewReader(testBody)}, nil},
		{"exactly 1 MiB", max, bytes.NewReader(max), nil},
		{"tampered", testBody, strings.NewReader(`{"id":"evt_2"}`), ErrNoMatchingSignature},
		{"too large", big, bytes.NewReader(big), ErrBodyTooLarge},
		{"too large, chunked", big, unsizedReader{bytes.NewReader(big)}, ErrBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL, tt.sent)
			if err != nil {
				t.Fatal(err)
			}
			mustSign(t, []string{oldSecret}, "msg_1", signedAt, tt.signed).Apply(req.Header)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := <-results
			if !errors.Is(got.err, tt.want) {
				t.Fatalf("VerifyRequest err = %v, want %v", got.err, tt.want)
			}
			if tt.want == nil && !bytes.Equal(got.body, tt.signed) {
				t.Fatalf("VerifyRequest body has %d bytes, want the %d sent", len(got.body), len(tt.signed))
			}
			if tt.want != nil && got.body != nil {
				t.Fatalf("VerifyRequest returned a body with error %v", got.err)
			}
			if wantStatus := map[bool]int{true: 200, false: 401}[tt.want == nil]; resp.StatusCode != wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, wantStatus)
			}
		})
	}
}

func TestVerifierDefaultsToWallClock(t *testing.T) {
	sent := time.Now()
	req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(testBody))
	mustSign(t, []string{oldSecret}, "msg_1", sent, testBody).Apply(req.Header)
	if _, err := (Verifier{Secret: oldSecret}).VerifyRequest(req); err != nil {
		t.Fatalf("fresh delivery with Now unset: %v", err)
	}
	req = httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(testBody))
	mustSign(t, []string{oldSecret}, "msg_1", sent.Add(-time.Hour), testBody).Apply(req.Header)
	if _, err := (Verifier{Secret: oldSecret}).VerifyRequest(req); !errors.Is(err, ErrTimestampOutOfTolerance) {
		t.Fatalf("hour-old delivery with Now unset: %v, want %v", err, ErrTimestampOutOfTolerance)
	}
}

func TestCheckTimestampMessage(t *testing.T) {
	err := checkTimestamp(strconv.FormatInt(signedAt.Unix(), 10), time.Minute, signedAt.Add(90*time.Second))
	if err == nil || !strings.Contains(err.Error(), "1m30s from now") {
		t.Fatalf("err = %v, want it to say how far off", err)
	}
}
