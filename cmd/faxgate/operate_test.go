package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRetentionPurge: with FAXGATE_RETENTION_DAYS, an expired received
// document is deleted from disk, the fax stays, and a download says 410.
func TestRetentionPurge(t *testing.T) {
	clock := newTestClock()
	dir := t.TempDir()
	g := startGatewayIn(t, dir, withClock(clock), withEnv("FAXGATE_RETENTION_DAYS", "30"))
	var f faxObj
	g.do("POST", "/v1/simulator/inbound", map[string]any{"from": "+15551112222", "to": "+15553334444"}, &f)
	clock.Advance(31 * 24 * time.Hour)
	if n, err := g.m.Retention.RunOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("retention pass: %d %v", n, err)
	}
	var e errorBody
	if code := g.do("GET", "/v1/faxes/"+f.ID+"/document", nil, &e); code != http.StatusGone {
		t.Errorf("download after purge: got %d %+v, want 410", code, e)
	}
	var got map[string]any
	g.do("GET", "/v1/faxes/"+f.ID, nil, &got)
	if got["status"] != "received" || got["document_purged"] != true {
		t.Errorf("fax after purge: %v", got)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "documents", "inbound", "*", "*.pdf"))
	if len(matches) != 0 {
		t.Errorf("documents still on disk: %v", matches)
	}
}

// TestServeTLS: with FAXGATE_TLS_CERT/KEY the gateway serves HTTPS.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, pool := selfSigned(t)
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(cert, certPEM, 0o600)
	os.WriteFile(key, keyPEM, 0o600)
	g := startGateway(t, withEnv("FAXGATE_TLS_CERT", cert), withEnv("FAXGATE_TLS_KEY", key))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(g.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("got %d over TLS=%v", resp.StatusCode, resp.TLS != nil)
	}
	plain, err := http.Get("http" + g.url[len("https"):] + "/healthz")
	if err == nil && plain.StatusCode == 200 {
		t.Error("plain HTTP answered on the TLS port")
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faxgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), pool
}
