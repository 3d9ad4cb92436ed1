// A Go agent that speaks TLS through Go's own crypto/tls (not OpenSSL): it dials ADDR,
// writes MESSAGE (or an HTTP/1.0 request for "/"), and prints what it reads back until
// the server closes. The unit tests only inspect its binary (user/probes/gobin.c); the
// end-to-end tests may run it against a local TLS server.
//
//	tlsclient [-ca FILE] [-insecure] ADDR [MESSAGE]
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	ca := flag.String("ca", "", "PEM file of the CA that signed the server's certificate")
	insecure := flag.Bool("insecure", false, "do not verify the server's certificate")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: tlsclient [-ca FILE] [-insecure] ADDR [MESSAGE]")
		os.Exit(2)
	}
	cfg := &tls.Config{InsecureSkipVerify: *insecure}
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tlsclient:", err)
			os.Exit(1)
		}
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AppendCertsFromPEM(pem)
	}
	conn, err := tls.Dial("tcp", flag.Arg(0), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsclient:", err)
		os.Exit(1)
	}
	defer conn.Close()
	msg := "GET / HTTP/1.0\r\n\r\n"
	if flag.NArg() > 1 {
		msg = flag.Arg(1)
	}
	if _, err := conn.Write([]byte(msg)); err != nil {
		fmt.Fprintln(os.Stderr, "tlsclient:", err)
		os.Exit(1)
	}
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		os.Stdout.Write(buf[:n])
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "tlsclient:", err)
			os.Exit(1)
		}
	}
}
