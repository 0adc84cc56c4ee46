package main

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/spf13/pflag"
)

// tlsOptions are serve's flags for serving HTTPS itself.
type tlsOptions struct {
	certFile, keyFile string
}

func (o *tlsOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.certFile, "tls-cert-file", "", "PEM certificate chain to serve HTTPS with; with --tls-key-file (env FIREDRILL_TLS_CERT_FILE)")
	fs.StringVar(&o.keyFile, "tls-key-file", "", "PEM private key of --tls-cert-file (env FIREDRILL_TLS_KEY_FILE)")
}

// load reads the certificate and key, at start-up so a bad pair stops serve before it
// listens; nil without TLS.
func (o tlsOptions) load() (*tls.Config, error) {
	if o.certFile == "" && o.keyFile == "" {
		return nil, nil
	}
	if o.certFile == "" || o.keyFile == "" {
		return nil, errors.New("--tls-cert-file and --tls-key-file go together (env FIREDRILL_TLS_CERT_FILE, FIREDRILL_TLS_KEY_FILE)")
	}
	pair, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert-file %s, --tls-key-file %s: %w", o.certFile, o.keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}
