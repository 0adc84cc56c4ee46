package report

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"iter"
	"os"
	"strconv"
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
//
// It walks src twice, at the same time: the drills once, for report.json, runs.csv,
// junit.xml and report.pdf together (the renderer runs alongside, fed drill by drill), and the
// events once, for events.ndjson. Each file is deflated into a temporary file as it is
// written and then copied into the zip as it is (zip.Writer.CreateRaw), so the walks and
// their compression use the machine's cores instead of waiting on one zip entry at a time.
// Nothing but the header and a few drills at a time is held in memory.
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
	normalizeHeader(h)
	bw := &bundleWriter{zw: zip.NewWriter(w), h: h, m: &Manifest{
		ManifestVersion: manifestVersion, ReportID: h.ID, ReportVersion: h.Version, SigningKeyFingerprint: fp,
	}}
	names := []string{FileReportJSON, FileRunsCSV, FileJUnit, FileEvents}
	if pdf != nil {
		names = append(names, FilePDF)
	}
	files := map[string]*deflatedFile{}
	defer func() {
		for _, f := range files {
			f.remove()
		}
	}()
	for _, name := range names {
		if files[name], err = newDeflatedFile(); err != nil {
			return nil, fmt.Errorf("write report: %s: %w", name, err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	eventsDone := make(chan error, 1)
	go func() {
		err := files[FileEvents].write(func(w io.Writer) error { return writeEvents(w, h, src.Events(wctx)) })
		if err != nil {
			cancel()
			err = fmt.Errorf("%s: %w", FileEvents, err)
		}
		eventsDone <- err
	}()
	drillsErr := writeDrillFiles(wctx, h, src, files, pdf)
	if drillsErr != nil {
		cancel()
	}
	eventsErr := <-eventsDone
	if err := errors.Join(drillsErr, eventsErr); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("write report: %w", ctx.Err())
		}
		return nil, fmt.Errorf("write report: %w", err)
	}
	for _, name := range names {
		if err := bw.appendDeflated(name, files[name]); err != nil {
			return nil, fmt.Errorf("write report: %s: %w", name, err)
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

// pdfFeedDrills is how many drills wait for the PDF renderer at most.
const pdfFeedDrills = 64

// writeDrillFiles walks the drills once and writes report.json, runs.csv and junit.xml from
// it, and report.pdf (when pdf is set) from a renderer fed the same drills alongside.
func writeDrillFiles(ctx context.Context, h *Header, src DrillSource, files map[string]*deflatedFile, pdf PDFRenderer) error {
	var feed chan *Drill
	var pdfStopped chan struct{}
	pdfDone := make(chan error, 1)
	if pdf != nil {
		feed, pdfStopped = make(chan *Drill, pdfFeedDrills), make(chan struct{})
		go func() {
			defer close(pdfStopped)
			drills := func(yield func(*Drill, error) bool) {
				for d := range feed {
					if !yield(d, nil) {
						return
					}
				}
			}
			err := files[FilePDF].write(func(w io.Writer) error { return pdf.Render(w, h, drills) })
			if err != nil {
				err = fmt.Errorf("%s: %w", FilePDF, err)
			}
			pdfDone <- err
		}()
	}
	jsonOut, csvOut, junitOut := files[FileReportJSON].start(), files[FileRunsCSV].start(), files[FileJUnit].start()
	jw, err := newReportJSONWriter(jsonOut, h)
	if err == nil {
		var cw *runsCSVWriter
		if cw, err = newRunsCSVWriter(csvOut); err == nil {
			var uw *junitWriter
			if uw, err = newJUnitWriter(junitOut, h); err == nil {
				err = walkDrills(src.Drills(ctx), func(d *Drill) error {
					if err := jw.drill(d); err != nil {
						return fmt.Errorf("%s: %w", FileReportJSON, err)
					}
					if err := cw.drill(d); err != nil {
						return fmt.Errorf("%s: %w", FileRunsCSV, err)
					}
					if err := uw.drill(d); err != nil {
						return fmt.Errorf("%s: %w", FileJUnit, err)
					}
					if feed != nil {
						select {
						case feed <- d:
						case <-pdfStopped:
							// The renderer stopped early: it has what it wanted, or failed.
						}
					}
					return nil
				})
				if err == nil {
					err = errors.Join(jw.end(), cw.end(), uw.end())
				}
			}
		}
	}
	for _, name := range []string{FileReportJSON, FileRunsCSV, FileJUnit} {
		err = errors.Join(err, files[name].finish())
	}
	if feed != nil {
		close(feed)
		err = errors.Join(err, <-pdfDone)
	}
	return err
}

// walkDrills calls each with every drill, normalized (see normalized).
func walkDrills(drills iter.Seq2[*Drill, error], each func(*Drill) error) error {
	for d, err := range normalized(drills) {
		if err != nil {
			return err
		}
		if err := each(d); err != nil {
			return err
		}
	}
	return nil
}

type bundleWriter struct {
	zw *zip.Writer
	h  *Header
	m  *Manifest
}

func (b *bundleWriter) header(name string) *zip.FileHeader {
	// A fixed modification time: the same report gives the same zip.
	return &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: b.h.GeneratedAt.UTC()}
}

// appendDeflated copies a deflated file into the zip as it is, and lists it in the manifest.
func (b *bundleWriter) appendDeflated(name string, f *deflatedFile) error {
	fh := b.header(name)
	fh.CRC32, fh.UncompressedSize64, fh.CompressedSize64 = f.crc.Sum32(), uint64(f.size), uint64(f.compressed)
	setRawModified(fh)
	zf, err := b.zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	if _, err := f.tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if n, err := io.Copy(zf, f.tmp); err != nil || n != f.compressed {
		return errors.Join(err, fmt.Errorf("copied %d of its %d deflated bytes", n, f.compressed))
	}
	b.m.Files = append(b.m.Files, ManifestFile{Name: name, SHA256: hex.EncodeToString(f.sha.Sum(nil)), Size: f.size})
	return nil
}

// setRawModified writes fh.Modified into the header's fields as zip.Writer.CreateHeader
// does (the MS-DOS date and time, and the extended timestamp extra field), which CreateRaw
// leaves to its caller.
func setRawModified(fh *zip.FileHeader) {
	t := fh.Modified.UTC()
	//lint:ignore SA1019 CreateRaw writes these fields as they are: with Modified alone the entry is dated 1980.
	fh.ModifiedDate = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	//lint:ignore SA1019 as above.
	fh.ModifiedTime = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	var ext [9]byte
	binary.LittleEndian.PutUint16(ext[0:], 0x5455) // extended timestamp
	binary.LittleEndian.PutUint16(ext[2:], 5)
	ext[4] = 1 // the modification time only
	binary.LittleEndian.PutUint32(ext[5:], uint32(t.Unix()))
	fh.Extra = append(fh.Extra, ext[:]...)
}

// raw writes the manifest or its signature, which the manifest does not list.
func (b *bundleWriter) raw(name string, data []byte) error {
	zf, err := b.zw.CreateHeader(b.header(name))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if _, err := zf.Write(data); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// deflateLevel is the compression of the bundle's files. BestSpeed deflates events.ndjson,
// most of a bundle, about three times as fast as the default level for a bundle about a
// third larger: the export is bound by its CPU, the stored bundle's size matters less.
const deflateLevel = flate.BestSpeed

// deflatedFile is one file of the bundle deflated into a temporary file, with its CRC-32 (for
// the zip), SHA-256 and size (for the manifest).
type deflatedFile struct {
	tmp        *os.File
	fw         *flate.Writer
	buf        *bufio.Writer
	crc        hash.Hash32
	sha        hash.Hash
	size       int64
	compressed int64
}

func newDeflatedFile() (*deflatedFile, error) {
	tmp, err := os.CreateTemp("", "firedrill-bundle-*")
	if err != nil {
		return nil, err
	}
	return &deflatedFile{tmp: tmp, crc: crc32.NewIEEE(), sha: sha256.New()}, nil
}

// start returns the writer the file's content goes to.
func (f *deflatedFile) start() io.Writer {
	cw := &countingFile{f: f}
	f.fw, _ = flate.NewWriter(cw, deflateLevel) // the level is valid
	f.buf = bufio.NewWriterSize(&contentWriter{f: f}, writeBufferBytes)
	return f.buf
}

// finish flushes the content and closes the deflate stream.
func (f *deflatedFile) finish() error {
	if f.buf == nil {
		return nil
	}
	return errors.Join(f.buf.Flush(), f.fw.Close())
}

// write writes the whole file with write.
func (f *deflatedFile) write(write func(io.Writer) error) error {
	err := write(f.start())
	return errors.Join(err, f.finish())
}

func (f *deflatedFile) remove() {
	f.tmp.Close()
	os.Remove(f.tmp.Name())
}

// contentWriter hashes, counts and deflates the file's content.
type contentWriter struct{ f *deflatedFile }

func (w *contentWriter) Write(p []byte) (int, error) {
	w.f.crc.Write(p)
	w.f.sha.Write(p)
	w.f.size += int64(len(p))
	return w.f.fw.Write(p)
}

// countingFile counts the deflated bytes into the temporary file.
type countingFile struct{ f *deflatedFile }

func (w *countingFile) Write(p []byte) (int, error) {
	n, err := w.f.tmp.Write(p)
	w.f.compressed += int64(n)
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

// reportJSONWriter writes report.json: the header's fields, then the drills one by one as
// the "drills" array, so the document is never whole in memory.
type reportJSONWriter struct {
	w io.Writer
	n int
}

// newReportJSONWriter writes the header of h, whose lists must be normalized.
func newReportJSONWriter(w io.Writer, h *Header) (*reportJSONWriter, error) {
	hb, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return nil, err
	}
	// hb ends with "\n}": reopen the object to append the drills.
	hb = bytes.TrimSuffix(hb, []byte("\n}"))
	if _, err := w.Write(hb); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, ",\n  \"drills\": ["); err != nil {
		return nil, err
	}
	return &reportJSONWriter{w: w}, nil
}

// drill writes a normalized drill.
func (j *reportJSONWriter) drill(d *Drill) error {
	db, err := json.MarshalIndent(d, "    ", "  ")
	if err != nil {
		return fmt.Errorf("drill %s: %w", d.RunID, err)
	}
	sep := ",\n    "
	if j.n == 0 {
		sep = "\n    "
	}
	if _, err := io.WriteString(j.w, sep); err != nil {
		return err
	}
	if _, err := j.w.Write(db); err != nil {
		return err
	}
	j.n++
	return nil
}

func (j *reportJSONWriter) end() error {
	end := "\n  ]\n}\n"
	if j.n == 0 {
		end = "]\n}\n"
	}
	_, err := io.WriteString(j.w, end)
	return err
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
	var line []byte
	for ev, err := range events {
		if err != nil {
			return err
		}
		if len(ev.Data) == 0 {
			ev.Data = json.RawMessage("null")
		}
		if line, err = appendEventLine(line[:0], ev); err != nil {
			return fmt.Errorf("run %s event %d: %w", ev.RunID, ev.Seq, err)
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return enc.Encode(headLine{Type: lineAuditHead, AuditHead: h.AuditHead})
}

// appendEventLine appends ev's line of events.ndjson: byte for byte what a json.Encoder
// without HTML escaping writes for struct{Type string `json:"type"`; *Event}{lineRunEvent, ev}
// (TestAppendEventLineIsEncodingJSON holds it to that), written field by field because
// events.ndjson is most of a bundle and reflection was most of its writing time.
func appendEventLine(b []byte, ev *Event) ([]byte, error) {
	b = append(b, `{"type":"`+lineRunEvent+`","run_id":`...)
	b = appendJSONString(b, ev.RunID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, ev.Seq, 10)
	b = append(b, `,"at":`...)
	at, err := ev.At.MarshalJSON()
	if err != nil {
		return b, err
	}
	b = append(b, at...)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, ev.Kind)
	b = append(b, `,"step_key":`...)
	b = appendJSONString(b, ev.StepKey)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, ev.Message)
	b = append(b, `,"data":`...)
	data := ev.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, data); err != nil {
		return b, fmt.Errorf("data: %w", err)
	}
	b = buf.Bytes()
	b = append(b, `,"audit":`...)
	if a := ev.Audit; a == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"seq":`...)
		b = strconv.AppendInt(b, a.Seq, 10)
		b = append(b, `,"prev_hash":`...)
		b = appendJSONString(b, a.PrevHash)
		b = append(b, `,"hash":`...)
		b = appendJSONString(b, a.Hash)
		b = append(b, `,"content":`...)
		b = appendJSONString(b, a.Content)
		b = append(b, '}')
	}
	return append(b, "}\n"...), nil
}

// appendJSONString appends s as encoding/json writes it without HTML escaping. Printable
// ASCII, what events almost always hold, is escaped here; anything else goes through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', c)
			start = i + 1
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
