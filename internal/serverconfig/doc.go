// Package serverconfig owns the server configuration file of firedrill serve
// (firedrill-server.hcl): its schema, one Setting per value, each with the serve flag and the
// FIREDRILL_* environment variable that override it, and a parser that reports every problem
// at its file:line:col. It reads no environment and opens no file: resolving a secret's
// reference, and the precedence flag > environment > file > default, are the command's.
//
// The server configuration is not the estate (firedrill.hcl, --config): the estate says what
// is drilled, this file says how the firedrill process runs (database, listen address and
// TLS, signing key, identity provider, notification targets, worker and scheduler timings).
//
// Secrets (database passwords, the OIDC client secret, notification credentials) are never
// written in the file: the file names the environment variable or the file that holds them,
// and a database URL written literally with a password in it is refused.
package serverconfig
