package webhook

import (
	"errors"
	"testing"
)

func FuzzVerifyScanForge(f *testing.F) {
	sig, err := Sign([]string{oldSecret, newSecret}, "msg_1", signedAt, testBody)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig.ScanForge, testBody)
	f.Add("t=1767225600,v1=00", []byte("{}"))
	f.Add("t=,v1=,,=", []byte{})
	f.Add("v1=zz,t=-1, t=99999999999999999999", []byte("x"))
	sentinels := []error{ErrMissingSignature, ErrMalformedSignature, ErrNoMatchingSignature, ErrTimestampOutOfTolerance}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := VerifyScanForge(oldSecret, header, body, 0, signedAt)
		if err == nil {
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error %v is none of the sentinels", err)
	})
}
