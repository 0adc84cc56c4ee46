// Package auditchain is the formula of the audit log's hash chain, shared by the store that
// appends the chain and by the report verifier that checks a bundle's segment of it offline.
// It holds no state and performs no I/O.
package auditchain

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Genesis is the prev_hash of the first row of the chain.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeLayout is how a row's content writes a timestamp (always UTC, milliseconds).
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Hash is the hash of the audit row numbered seq, whose predecessor's hash is prev:
// hex(SHA-256(prev + "\n" + decimal(seq) + "\n" + content)).
func Hash(prev string, seq int64, content string) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte("\n" + strconv.FormatInt(seq, 10) + "\n"))
	h.Write([]byte(content))
	return hex.EncodeToString(h.Sum(nil))
}
