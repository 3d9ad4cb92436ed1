// A Go agent that reads secret/data/agent/h2 (api_key, token, pin) from an HTTP/2 Vault
// with net/http (h2 by ALPN, Go's own crypto/tls and hpack), then sends two GETs on one
// HTTP/2 connection to RX_URL/a and RX_URL/b, each with "Authorization: Bearer <api_key>",
// "X-Token: <token>", "X-Pin: <pin>" and "X-Decoy" (random). Go's hpack adds every field
// to the dynamic table: the second request sends them as table indexes. The end-to-end
// test tests/e2e/test_http2_headers.py traces it.
//
//	h2headers VAULT_URL CA_FILE CREDS_FILE RX_URL
package main

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
)

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "h2headers: %s: %v\n", what, err)
	os.Exit(1)
}

// get: the body of a GET that must be answered 200 over HTTP/2.
func get(c *http.Client, url string, hdr map[string]string) []byte {
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		fail(url, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		fail(url, fmt.Errorf("status %d, %s, %v", resp.StatusCode, resp.Proto, err))
	}
	return body
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: h2headers VAULT_URL CA_FILE CREDS_FILE RX_URL")
		os.Exit(2)
	}
	vault, caFile, creds, rx := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	var cred struct {
		RootToken string `json:"root_token"`
	}
	cb, err := os.ReadFile(creds)
	if err == nil {
		err = json.Unmarshal(cb, &cred)
	}
	if err != nil || cred.RootToken == "" {
		fail("creds file", fmt.Errorf("no root_token (%v)", err))
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		fail("CA file", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail("CA file", fmt.Errorf("no certificate in %s", caFile))
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	client := &http.Client{Transport: tr}

	body := get(client, vault+"/v1/secret/data/agent/h2",
		map[string]string{"X-Vault-Token": cred.RootToken})
	var doc struct {
		Data struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		fail("vault response", err)
	}
	kv := doc.Data.Data
	decoy := make([]byte, 20)
	rand.Read(decoy)
	hdr := map[string]string{"Authorization": "Bearer " + kv["api_key"], "X-Token": kv["token"],
		"X-Pin": kv["pin"], "X-Decoy": "sk-" + hex.EncodeToString(decoy)}
	get(client, rx+"/a", hdr)
	get(client, rx+"/b", hdr)
}
