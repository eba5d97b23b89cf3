package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"unicode"
)

// TemporalTLS is how serve and worker secure their connection to Temporal.
// The loader has read and checked the files; their contents travel here, so
// the client never rereads them and cannot meet a different file.
type TemporalTLS struct {
	Enabled    bool
	ServerName string // name verified in the server's certificate; "": the host of TEMPORAL_ADDRESS
	CAFile     string // "": the system's roots
	CertFile   string // client certificate (mTLS); "" with KeyFile ""
	KeyFile    string

	CAPEM   []byte // contents of CAFile: one or more CERTIFICATE blocks
	CertPEM []byte // contents of CertFile
	KeyPEM  []byte // contents of KeyFile
}

// temporalSecurity reads the TLS variables and the API key. TLS is on when
// TEMPORAL_TLS says so or, unset, when any other of these variables is set.
func (l *loader) temporalSecurity() (TemporalTLS, string) {
	explicit := l.value(envTemporalTLS, "")
	t := TemporalTLS{
		ServerName: l.serverName(envTemporalTLSServerName),
		CAFile:     l.value(envTemporalTLSCA, ""),
		CertFile:   l.value(envTemporalTLSCert, ""),
		KeyFile:    l.value(envTemporalTLSKey, ""),
	}
	apiKey := l.apiKey(envTemporalAPIKey)

	var implying []string
	for _, name := range []string{envTemporalTLSCA, envTemporalTLSServerName, envTemporalTLSCert, envTemporalTLSKey, envTemporalAPIKey} {
		if l.set[name] != "" {
			implying = append(implying, name)
		}
	}
	t.Enabled = len(implying) > 0
	if explicit != "" {
		on, ok := l.parseBool(envTemporalTLS)
		switch {
		case !ok:
		case !on && len(implying) > 0:
			l.fail(envTemporalTLS, "contradicts "+strings.Join(implying, ", ")+
				" (they need TLS); unset "+envTemporalTLS+" or set it to true, or unset them")
		default:
			t.Enabled = on
		}
	}

	if t.CAFile != "" {
		if pemBytes, ok := l.pemFile(envTemporalTLSCA, t.CAFile, "a PEM file of CA certificates"); ok {
			if l.caCertificates(envTemporalTLSCA, t.CAFile, pemBytes) {
				t.CAPEM = pemBytes
			}
		}
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		l.conflict(envTemporalTLSKey, "is required with "+envTemporalTLSCert+": set both (client certificate and its private key, PEM) for mTLS, or neither")
	case t.CertFile == "" && t.KeyFile != "":
		l.conflict(envTemporalTLSCert, "is required with "+envTemporalTLSKey+": set both (client certificate and its private key, PEM) for mTLS, or neither")
	case t.CertFile != "":
		certPEM, certOK := l.pemFile(envTemporalTLSCert, t.CertFile, "a PEM client certificate")
		keyPEM, keyOK := l.pemFile(envTemporalTLSKey, t.KeyFile, "a PEM private key")
		certOK = certOK && l.hasBlock(envTemporalTLSCert, t.CertFile, certPEM, "certificate", "-----BEGIN CERTIFICATE-----", isCertificateBlock)
		keyOK = keyOK && l.hasBlock(envTemporalTLSKey, t.KeyFile, keyPEM, "private key", "-----BEGIN PRIVATE KEY-----, EC or RSA", isKeyBlock)
		if certOK && keyOK {
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				l.failWith(envTemporalTLSKey, t.KeyFile, "does not go with "+envTemporalTLSCert+"="+fmt.Sprintf("%q", t.CertFile)+
					" ("+strings.TrimPrefix(err.Error(), "tls: ")+"); set the client certificate and its own private key", err)
			} else {
				t.CertPEM, t.KeyPEM = certPEM, keyPEM
			}
		}
	}
	if !t.Enabled {
		return TemporalTLS{}, apiKey
	}
	return t, apiKey
}

// parseBool parses name's value as read (true or false; 1/0, t/f).
func (l *loader) parseBool(name string) (bool, bool) {
	switch strings.ToLower(l.used[name]) {
	case "true", "1", "t":
		return true, true
	case "false", "0", "f":
		return false, true
	}
	l.fail(name, "expected true or false")
	return false, false
}

// serverName reads the host name to verify in the server's certificate.
func (l *loader) serverName(name string) string {
	v := l.value(name, "")
	if v == "" {
		return ""
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return v
	}
	if strings.ContainsAny(v, ":/@ \t") {
		l.fail(name, "expected a host name as it appears in the server's certificate, without scheme or port (e.g. temporal.example.com)")
		return ""
	}
	return v
}

// apiKey reads a Temporal Cloud API key. Messages never show the value.
func (l *loader) apiKey(name string) string {
	v := l.value(name, "")
	if strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		l.failWith(name, "", "contains spaces or line breaks; set the key alone, as Temporal Cloud shows it", nil)
		return ""
	}
	return v
}

// pemFile reads a file a TLS variable names.
func (l *loader) pemFile(name, path, expected string) ([]byte, bool) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.failWith(name, path, "no such file (expected "+expected+")", err)
	case err != nil && isDirError(path):
		l.failWith(name, path, "is a directory (expected "+expected+")", err)
	case err != nil:
		l.failWith(name, path, "cannot read the file: "+err.Error(), err)
	default:
		return b, true
	}
	return nil, false
}

func isDirError(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// hasBlock checks that b holds at least one PEM block that ok accepts.
func (l *loader) hasBlock(name, path string, b []byte, kind, example string, ok func(*pem.Block) bool) bool {
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			l.failWith(name, path, "holds no PEM "+kind+" (expected "+example+")", nil)
			return false
		}
		if ok(block) {
			return true
		}
	}
}

func isCertificateBlock(b *pem.Block) bool { return b.Type == "CERTIFICATE" }

func isKeyBlock(b *pem.Block) bool {
	return b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY")
}

// caCertificates checks that b is one or more PEM certificates, all valid.
func (l *loader) caCertificates(name, path string, b []byte) bool {
	count := 0
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		count++
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			l.failWith(name, path, fmt.Sprintf("certificate %d does not parse (%v); expected PEM CA certificates", count, err), err)
			return false
		}
	}
	if count == 0 {
		l.failWith(name, path, "holds no PEM certificate; expected the CA certificates to trust (-----BEGIN CERTIFICATE-----)", nil)
		return false
	}
	return true
}
