package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scanforge/scanforge/internal/testcerts"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTemporalTLSGood(t *testing.T) {
	ca := testcerts.NewCA(t, "ca")
	client := ca.Client(t, "worker")
	for _, mode := range []Mode{ModeServe, ModeWorker} {
		c, err := Load(mode, envOf(with(baseEnv(mode),
			envTemporalTLSCA, ca.File,
			envTemporalTLSServerName, "temporal.internal",
			envTemporalTLSCert, client.Cert,
			envTemporalTLSKey, client.Key,
		)))
		if err != nil {
			t.Fatal(err)
		}
		want := TemporalTLS{
			Enabled: true, ServerName: "temporal.internal",
			CAFile: ca.File, CertFile: client.Cert, KeyFile: client.Key,
			CAPEM: readFile(t, ca.File), CertPEM: readFile(t, client.Cert), KeyPEM: readFile(t, client.Key),
		}
		if diff := cmp.Diff(want, c.TemporalTLS); diff != "" {
			t.Errorf("%s: TemporalTLS (-want +got):\n%s", mode, diff)
		}
	}
}

// TestTemporalTLSEnabling: TLS is on when asked for or implied by any other
// TLS variable or the API key, off otherwise.
func TestTemporalTLSEnabling(t *testing.T) {
	ca := testcerts.NewCA(t, "ca")
	tests := []struct {
		env  []string
		want bool
	}{
		{nil, false},
		{[]string{envTemporalTLS, "false"}, false},
		{[]string{envTemporalTLS, "true"}, true},
		{[]string{envTemporalTLS, "1"}, true},
		{[]string{envTemporalTLSCA, ca.File}, true},
		{[]string{envTemporalTLSServerName, "temporal.internal"}, true},
		{[]string{envTemporalAPIKey, "cloud-api-key"}, true},
		{[]string{envTemporalTLS, "true", envTemporalAPIKey, "cloud-api-key"}, true},
	}
	for _, tt := range tests {
		c, err := Load(ModeWorker, envOf(with(baseEnv(ModeWorker), tt.env...)))
		if err != nil {
			t.Errorf("%v: %v", tt.env, err)
			continue
		}
		if c.TemporalTLS.Enabled != tt.want {
			t.Errorf("%v: TLS enabled = %v, want %v", tt.env, c.TemporalTLS.Enabled, tt.want)
		}
	}
	// Dev mode's embedded server is plain whatever the environment says.
	dev, err := Load(ModeDev, envOf(map[string]string{envTemporalTLS: "true", envTemporalAPIKey: "k"}))
	if err != nil || dev.TemporalTLS.Enabled || dev.TemporalAPIKey != "" {
		t.Errorf("dev mode reads the Temporal TLS variables: %+v, %v", dev.TemporalTLS, err)
	}
}

func TestTemporalTLSBad(t *testing.T) {
	ca := testcerts.NewCA(t, "ca")
	client := ca.Client(t, "worker")
	other := testcerts.NewCA(t, "other").Client(t, "other")
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badCert := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(badCert, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env  []string
		name string
		want string
	}{
		{[]string{envTemporalTLS, "yes please"}, envTemporalTLS,
			`TEMPORAL_TLS="yes please": expected true or false`},
		{[]string{envTemporalTLS, "false", envTemporalTLSCA, ca.File, envTemporalTLSCert, client.Cert, envTemporalTLSKey, client.Key}, envTemporalTLS,
			`TEMPORAL_TLS="false": contradicts TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY (they need TLS); unset TEMPORAL_TLS or set it to true, or unset them`},
		{[]string{envTemporalTLS, "false", envTemporalAPIKey, "k"}, envTemporalTLS,
			`TEMPORAL_TLS="false": contradicts TEMPORAL_API_KEY (they need TLS); unset TEMPORAL_TLS or set it to true, or unset them`},
		{[]string{envTemporalTLSCA, missing}, envTemporalTLSCA,
			fmt.Sprintf(`TEMPORAL_TLS_CA=%q: no such file (expected a PEM file of CA certificates)`, missing)},
		{[]string{envTemporalTLSCA, dir}, envTemporalTLSCA,
			fmt.Sprintf(`TEMPORAL_TLS_CA=%q: is a directory (expected a PEM file of CA certificates)`, dir)},
		{[]string{envTemporalTLSCA, notPEM}, envTemporalTLSCA,
			fmt.Sprintf(`TEMPORAL_TLS_CA=%q: holds no PEM certificate; expected the CA certificates to trust (-----BEGIN CERTIFICATE-----)`, notPEM)},
		{[]string{envTemporalTLSCA, client.Key}, envTemporalTLSCA,
			fmt.Sprintf(`TEMPORAL_TLS_CA=%q: holds no PEM certificate; expected the CA certificates to trust (-----BEGIN CERTIFICATE-----)`, client.Key)},
		{[]string{envTemporalTLSCert, client.Cert}, envTemporalTLSKey,
			`TEMPORAL_TLS_KEY is required with TEMPORAL_TLS_CERT: set both (client certificate and its private key, PEM) for mTLS, or neither`},
		{[]string{envTemporalTLSKey, client.Key}, envTemporalTLSCert,
			`TEMPORAL_TLS_CERT is required with TEMPORAL_TLS_KEY: set both (client certificate and its private key, PEM) for mTLS, or neither`},
		{[]string{envTemporalTLSCert, missing, envTemporalTLSKey, client.Key}, envTemporalTLSCert,
			fmt.Sprintf(`TEMPORAL_TLS_CERT=%q: no such file (expected a PEM client certificate)`, missing)},
		{[]string{envTemporalTLSCert, client.Cert, envTemporalTLSKey, missing}, envTemporalTLSKey,
			fmt.Sprintf(`TEMPORAL_TLS_KEY=%q: no such file (expected a PEM private key)`, missing)},
		{[]string{envTemporalTLSCert, notPEM, envTemporalTLSKey, client.Key}, envTemporalTLSCert,
			fmt.Sprintf(`TEMPORAL_TLS_CERT=%q: holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`, notPEM)},
		{[]string{envTemporalTLSCert, client.Cert, envTemporalTLSKey, client.Cert}, envTemporalTLSKey,
			fmt.Sprintf(`TEMPORAL_TLS_KEY=%q: holds no PEM private key (expected -----BEGIN PRIVATE KEY-----, EC or RSA)`, client.Cert)},
		{[]string{envTemporalTLSCert, client.Cert, envTemporalTLSKey, other.Key}, envTemporalTLSKey,
			fmt.Sprintf(`TEMPORAL_TLS_KEY=%q: does not go with TEMPORAL_TLS_CERT=%q (private key does not match public key); set the client certificate and its own private key`, other.Key, client.Cert)},
		{[]string{envTemporalTLSServerName, "temporal.internal:7233"}, envTemporalTLSServerName,
			`TEMPORAL_TLS_SERVER_NAME="temporal.internal:7233": expected a host name as it appears in the server's certificate, without scheme or port (e.g. temporal.example.com)`},
		{[]string{envTemporalAPIKey, "key with\ta tab"}, envTemporalAPIKey,
			`TEMPORAL_API_KEY contains spaces or line breaks; set the key alone, as Temporal Cloud shows it`},
	}
	for _, tt := range tests {
		for _, mode := range []Mode{ModeServe, ModeWorker} {
			_, err := Load(mode, envOf(with(baseEnv(mode), tt.env...)))
			if err == nil {
				t.Errorf("%s %v: Load succeeded", mode, tt.env)
				continue
			}
			errs := varErrors(t, err)
			if len(errs) != 1 || errs[0].Name != tt.name {
				t.Errorf("%s %v: errors\n%v\nwant one about %s", mode, tt.env, err, tt.name)
				continue
			}
			if err.Error() != tt.want {
				t.Errorf("%s %v: message\n got %s\nwant %s", mode, tt.env, err, tt.want)
			}
		}
	}

	// A certificate block that is not a certificate is named.
	_, err := Load(ModeWorker, envOf(with(baseEnv(ModeWorker), envTemporalTLSCA, badCert)))
	if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf(`TEMPORAL_TLS_CA=%q: certificate 1 does not parse (`, badCert)) {
		t.Errorf("CA with a broken certificate: %v", err)
	}
}

// TestTemporalTLSReportsEveryProblem: one start shows every TLS mistake.
func TestTemporalTLSReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(ModeWorker, envOf(with(baseEnv(ModeWorker),
		envTemporalTLSCA, filepath.Join(dir, "ca.pem"),
		envTemporalTLSServerName, "https://temporal",
		envTemporalTLSKey, filepath.Join(dir, "key.pem"),
		envTemporalAPIKey, "two words",
	)))
	var names []string
	for _, e := range varErrors(t, err) {
		names = append(names, e.Name)
	}
	want := []string{envTemporalTLSServerName, envTemporalAPIKey, envTemporalTLSCA, envTemporalTLSCert}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("errors about %v, want %v\n%v", names, want, err)
	}
}

// TestTemporalAPIKeyNeverShown: the API key is masked in Redacted and in
// the startup log, and never in an error.
func TestTemporalAPIKeyNeverShown(t *testing.T) {
	const apiKey = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LWNsb3VkLWtleQ.c2lnbmF0dXJl"
	c, err := Load(ModeWorker, envOf(with(baseEnv(ModeWorker), envTemporalAPIKey, apiKey)))
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalAPIKey != apiKey {
		t.Errorf("TemporalAPIKey = %q", c.TemporalAPIKey)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", c)
	if strings.Contains(buf.String()+fmt.Sprint(c.Redacted()), "c2VjcmV0") {
		t.Errorf("API key shown: %s", buf.String())
	}
	if c.Redacted()[envTemporalAPIKey] != masked {
		t.Errorf("Redacted does not say the API key is set: %v", c.Redacted())
	}
	_, err = Load(ModeWorker, envOf(with(baseEnv(ModeWorker), envTemporalAPIKey, apiKey+" x", envTemporalTLS, "false")))
	if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("error shows the API key: %v", err)
	}
}
