// What one crypto/tls.(*Conn).Write costs: a TLS client and server over loopback TCP in one
// process (a throwaway self-signed certificate), the server reading and dropping; the client
// writes SIZE bytes N times and prints the mean ns per Write. Run it untraced and under
// secretrace to see what the Go probes add (docs/go.md).
//
//	tlsloop [SIZE [N]]
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"time"
)

func cert() tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func main() {
	size, n := 4096, 20000
	if len(os.Args) > 1 {
		size, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert()}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsloop:", err)
		os.Exit(1)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
		}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsloop:", err)
		os.Exit(1)
	}
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	for i := 0; i < 1000; i++ { // warm up
		c.Write(buf)
	}
	t := time.Now()
	for i := 0; i < n; i++ {
		if _, err := c.Write(buf); err != nil {
			fmt.Fprintln(os.Stderr, "tlsloop:", err)
			os.Exit(1)
		}
	}
	ns := float64(time.Since(t).Nanoseconds()) / float64(n)
	fmt.Printf("%d bytes: %.0f ns per Write (%d writes)\n", size, ns, n)
	c.Close()
}
