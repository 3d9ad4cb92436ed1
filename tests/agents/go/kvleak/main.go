// A Go agent that fetches a secret from Vault over HTTPS with net/http (Go's own
// crypto/tls, not OpenSSL) and uses it: the api_key of secret/data/agent/openai as an
// "Authorization: Bearer" header to BEARER_URL and in a JSON body to JSON_URL (HTTPS), in a
// file, and on a child's command line (/bin/true). The end-to-end tests (tests/e2e/test_go.py) trace it.
//
//	kvleak [-h2] [-noargv] VAULT_URL CA_FILE CREDS_FILE BEARER_URL JSON_URL OUT_FILE
//
// CREDS_FILE is the stand-in's JSON credentials file: its root_token is the Vault token.
// -noargv skips the child (a run where the secret is never learned would print its argv).
// Without -h2 the transport speaks HTTP/1.1 only; with it, net/http's default: h2 by ALPN.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
)

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "kvleak: %s: %v\n", what, err)
	os.Exit(1)
}

func main() {
	h2 := flag.Bool("h2", false, "let net/http negotiate HTTP/2")
	noArgv := flag.Bool("noargv", false, "do not start the child with the secret on its argv")
	flag.Parse()
	if flag.NArg() != 6 {
		fmt.Fprintln(os.Stderr, "usage: kvleak [-h2] [-noargv] VAULT_URL CA_FILE CREDS_FILE "+
			"BEARER_URL JSON_URL OUT_FILE")
		os.Exit(2)
	}
	vault, caFile, creds := flag.Arg(0), flag.Arg(1), flag.Arg(2)
	bearerURL, jsonURL, out := flag.Arg(3), flag.Arg(4), flag.Arg(5)
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
	token := cred.RootToken
	pem, err := os.ReadFile(caFile)
	if err != nil {
		fail("CA file", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail("CA file", fmt.Errorf("no certificate in %s", caFile))
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	if *h2 {
		tr.ForceAttemptHTTP2 = true
	} else {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	client := &http.Client{Transport: tr}

	req, _ := http.NewRequest("GET", vault+"/v1/secret/data/agent/openai", nil)
	req.Header.Set("X-Vault-Token", token)
	resp, err := client.Do(req)
	if err != nil {
		fail("vault", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		fail("vault", fmt.Errorf("status %d, %v", resp.StatusCode, err))
	}
	var doc struct {
		Data struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		fail("vault response", err)
	}
	key := doc.Data.Data["api_key"]
	if key == "" {
		fail("vault response", fmt.Errorf("no api_key"))
	}

	// a separate receiver connection for each use: the receiver answers one request each
	send := func(url string, b []byte, hdr map[string]string) {
		r, _ := http.NewRequest("POST", url, bytes.NewReader(b))
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		r.Close = true
		resp, err := client.Do(r)
		if err != nil {
			fail("receiver", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	send(bearerURL, []byte("{}"), map[string]string{"Authorization": "Bearer " + key})
	j, _ := json.Marshal(map[string]string{"model": "gpt", "key": key})
	send(jsonURL, j, map[string]string{"Content-Type": "application/json"})

	if err := os.WriteFile(out, []byte("OPENAI_API_KEY="+key+"\n"), 0o600); err != nil {
		fail("file", err)
	}
	if *noArgv {
		return
	}
	if err := exec.Command("/bin/true", "--key="+key).Run(); err != nil {
		fail("child", err)
	}
}
