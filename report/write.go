package report

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
)

// The files of a bundle.
const (
	FileReportJSON   = "report.json"
	FileRunsCSV      = "runs.csv"
	FileJUnit        = "junit.xml"
	FileEvents       = "events.ndjson"
	FilePDF          = "report.pdf"
	FileManifest     = "manifest.json"
	FileManifestSig  = "manifest.sig"
	manifestVersion  = 1
	writeBufferBytes = 64 << 10
)

// Manifest lists every file of a bundle (but itself and its signature) with its SHA-256 and
// size. manifest.sig is the raw 64-byte Ed25519 signature of manifest.json's bytes.
type Manifest struct {
	ManifestVersion       int            `json:"manifest_version"`
	ReportID              string         `json:"report_id"`
	ReportVersion         int            `json:"report_version"`
	SigningKeyFingerprint string         `json:"signing_key_fingerprint"`
	Files                 []ManifestFile `json:"files"`
	// SHA256 is the hex SHA-256 of manifest.json's bytes, what the signature covers; set by
	// Write, not part of the file.
	SHA256 string `json:"-"`
}

// ManifestFile is one file of the bundle.
type ManifestFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Write writes the bundle of h and the drills of src to w as a zip, signed with key, and
// returns its manifest. It sets h's schema version and signing key fingerprint. pdf renders
// report.pdf; a nil pdf leaves report.pdf out of the bundle (and out of its manifest).
// Nothing but the header and one drill at a time is held in memory.
func Write(ctx context.Context, w io.Writer, h *Header, src DrillSource, key ed25519.PrivateKey, pdf PDFRenderer) (*Manifest, error) {
	if h == nil || src == nil {
		return nil, errors.New("write report: a header and a drill source are required")
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("write report: the signing key is not an Ed25519 private key")
	}
	fp, err := Fingerprint(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	h.SchemaVersion = SchemaVersion
	h.SigningKeyFingerprint = fp
	bw := &bundleWriter{zw: zip.NewWriter(w), h: h, m: &Manifest{
		ManifestVersion: manifestVersion, ReportID: h.ID, ReportVersion: h.Version, SigningKeyFingerprint: fp,
	}}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{FileReportJSON, func(w io.Writer) error { return writeReportJSON(w, h, src.Drills(ctx)) }},
		{FileRunsCSV, func(w io.Writer) error { return writeRunsCSV(w, src.Drills(ctx)) }},
		{FileJUnit, func(w io.Writer) error { return writeJUnit(w, h, src.Drills(ctx)) }},
		{FileEvents, func(w io.Writer) error { return writeEvents(w, h, src.Events(ctx)) }},
	}
	if pdf != nil {
		files = append(files, struct {
			name  string
			write func(io.Writer) error
		}{FilePDF, func(w io.Writer) error { return pdf.Render(w, h, normalized(src.Drills(ctx))) }})
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("write report: %w", err)
		}
		if err := bw.file(f.name, f.write); err != nil {
			return nil, fmt.Errorf("write report: %s: %w", f.name, err)
		}
	}
	mb, err := json.MarshalIndent(bw.m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write report: manifest: %w", err)
	}
	mb = append(mb, '\n')
	sum := sha256.Sum256(mb)
	bw.m.SHA256 = hex.EncodeToString(sum[:])
	if err := bw.raw(FileManifest, mb); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	if err := bw.raw(FileManifestSig, ed25519.Sign(key, mb)); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	if err := bw.zw.Close(); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	return bw.m, nil
}

type bundleWriter struct {
	zw *zip.Writer
	h  *Header
	m  *Manifest
}

func (b *bundleWriter) create(name string) (io.Writer, error) {
	// A fixed modification time: the same report gives the same zip.
	return b.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: b.h.GeneratedAt.UTC()})
}

// file writes one listed file, hashing and counting it on the way.
func (b *bundleWriter) file(name string, write func(io.Writer) error) error {
	zf, err := b.create(name)
	if err != nil {
		return err
	}
	hw := &hashingWriter{w: zf, h: sha256.New()}
	buf := bufio.NewWriterSize(hw, writeBufferBytes)
	if err := write(buf); err != nil {
		return err
	}
	if err := buf.Flush(); err != nil {
		return err
	}
	b.m.Files = append(b.m.Files, ManifestFile{Name: name, SHA256: hex.EncodeToString(hw.h.Sum(nil)), Size: hw.n})
	return nil
}

// raw writes the manifest or its signature, which the manifest does not list.
func (b *bundleWriter) raw(name string, data []byte) error {
	zf, err := b.create(name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if _, err := zf.Write(data); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (w *hashingWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

// normalized yields the drills with empty lists instead of nil ones, so report.json always
// has arrays where its schema says so.
func normalized(drills iter.Seq2[*Drill, error]) iter.Seq2[*Drill, error] {
	return func(yield func(*Drill, error) bool) {
		for d, err := range drills {
			if d != nil {
				normalizeDrill(d)
			}
			if !yield(d, err) {
				return
			}
		}
	}
}

func normalizeDrill(d *Drill) {
	d.Approvers = nonNil(d.Approvers)
	d.Participants = nonNil(d.Participants)
	d.Steps = nonNil(d.Steps)
	d.Measurements = nonNil(d.Measurements)
	d.Deviations = nonNil(d.Deviations)
	d.Lessons = nonNil(d.Lessons)
	d.Findings = nonNil(d.Findings)
}

func normalizeHeader(h *Header) {
	h.Services = nonNil(h.Services)
	for i := range h.Services {
		h.Services[i].Reasons = nonNil(h.Services[i].Reasons)
	}
	h.Findings = nonNil(h.Findings)
	h.Clauses = nonNil(h.Clauses)
	for i := range h.Clauses {
		h.Clauses[i].Evidence = nonNil(h.Clauses[i].Evidence)
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeReportJSON writes the header's fields, then its drills one by one as the "drills"
// array, so the document is never whole in memory.
func writeReportJSON(w io.Writer, h *Header, drills iter.Seq2[*Drill, error]) error {
	normalizeHeader(h)
	hb, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	// hb ends with "\n}": reopen the object to append the drills.
	hb = bytes.TrimSuffix(hb, []byte("\n}"))
	if _, err := w.Write(hb); err != nil {
		return err
	}
	if _, err := io.WriteString(w, ",\n  \"drills\": ["); err != nil {
		return err
	}
	n := 0
	for d, err := range normalized(drills) {
		if err != nil {
			return err
		}
		db, err := json.MarshalIndent(d, "    ", "  ")
		if err != nil {
			return fmt.Errorf("drill %s: %w", d.RunID, err)
		}
		sep := ",\n    "
		if n == 0 {
			sep = "\n    "
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		if _, err := w.Write(db); err != nil {
			return err
		}
		n++
	}
	end := "\n  ]\n}\n"
	if n == 0 {
		end = "]\n}\n"
	}
	_, err = io.WriteString(w, end)
	return err
}

// eventLine is a line of events.ndjson holding a run event with its audit row.
type eventLine struct {
	Type string `json:"type"`
	*Event
}

// headLine is the last line of events.ndjson: the audit chain's head when the report was made.
type headLine struct {
	Type string `json:"type"`
	AuditHead
}

// Line types of events.ndjson.
const (
	lineRunEvent  = "run_event"
	lineAuditHead = "audit_head"
)

func writeEvents(w io.Writer, h *Header, events iter.Seq2[*Event, error]) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for ev, err := range events {
		if err != nil {
			return err
		}
		if len(ev.Data) == 0 {
			ev.Data = json.RawMessage("null")
		}
		if err := enc.Encode(eventLine{Type: lineRunEvent, Event: ev}); err != nil {
			return fmt.Errorf("run %s event %d: %w", ev.RunID, ev.Seq, err)
		}
	}
	return enc.Encode(headLine{Type: lineAuditHead, AuditHead: h.AuditHead})
}
