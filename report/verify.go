package report

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/auditchain"
)

// Verification is what Verify found. A bundle holds when Problems is empty.
type Verification struct {
	ReportID      string `json:"report_id"`
	ReportVersion int    `json:"report_version"`
	State         string `json:"state"`
	// SignatureValid: manifest.sig is the key's signature of manifest.json.
	SignatureValid bool `json:"signature_valid"`
	// Files is how many listed files were hashed and matched.
	Files int `json:"files"`
	// AuditRows is how many audit rows of events.ndjson were checked; AuditHead the chain head
	// they were checked against.
	AuditRows int64     `json:"audit_rows"`
	AuditHead AuditHead `json:"audit_head"`
	// Figures is how many RTO and RPO figures of the report were recomputed from the events.
	Figures  int       `json:"figures"`
	Problems []Problem `json:"problems"`
}

// OK tells whether the bundle holds: nothing Verify checked is wrong.
func (v *Verification) OK() bool { return len(v.Problems) == 0 }

// Problem is one thing wrong with a bundle: the file it is in and what is wrong, for a person.
type Problem struct {
	// Check is which of the checks found it: CheckSignature, CheckHashes, CheckChain or
	// CheckFigures.
	Check   string `json:"check"`
	File    string `json:"file"`
	Message string `json:"message"`
}

// The checks Verify makes, each named on the problems it finds.
const (
	// CheckSignature: manifest.sig signs manifest.json with the public key, whose fingerprint
	// the manifest names.
	CheckSignature = "signature"
	// CheckHashes: every file is listed in the manifest, once, with its SHA-256 and size.
	CheckHashes = "hashes"
	// CheckChain: the audit chain segment of events.ndjson links row to row up to its head, and
	// each event matches the audit row that recorded it.
	CheckChain = "chain"
	// CheckFigures: every RTO and RPO of report.json and of the events is the one their raw
	// inputs give.
	CheckFigures = "figures"
)

// Checks lists the checks in the order Verify makes them.
var Checks = []string{CheckSignature, CheckHashes, CheckChain, CheckFigures}

// Failed tells whether check found a problem.
func (v *Verification) Failed(check string) bool {
	return slices.ContainsFunc(v.Problems, func(p Problem) bool { return p.Check == check })
}

func (p Problem) String() string { return p.File + ": " + p.Message }

// maxProblems bounds the problems listed: a bundle rewritten wholesale would list one per row.
const maxProblems = 100

func (v *Verification) addf(check, file, format string, args ...any) {
	if len(v.Problems) == maxProblems {
		v.Problems = append(v.Problems, Problem{Check: check, File: file, Message: "more problems were found; only the first are listed"})
	}
	if len(v.Problems) > maxProblems {
		return
	}
	v.Problems = append(v.Problems, Problem{Check: check, File: file, Message: fmt.Sprintf(format, args...)})
}

// Verify checks a bundle offline with the institution's public key: the signature of the
// manifest, the hash and size of every file it lists (and that it lists every file), the
// audit chain segment of events.ndjson and each event against its audit row, and every RTO
// and RPO figure of report.json against the figure the events' raw inputs give. It names
// every mismatch it finds; an error means the bundle could not be read at all.
func Verify(r io.ReaderAt, size int64, pub ed25519.PublicKey) (*Verification, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("verify report: the public key is not an Ed25519 public key")
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("verify report: not a zip bundle: %w", err)
	}
	v := &Verification{Problems: []Problem{}}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		if files[f.Name] != nil {
			v.addf(CheckHashes, f.Name, "the bundle holds this file twice")
		}
		files[f.Name] = f
	}
	m := verifyManifest(v, files, pub)
	if m == nil {
		return v, nil
	}
	v.ReportID, v.ReportVersion = m.ReportID, m.ReportVersion
	listed := map[string]bool{FileManifest: true, FileManifestSig: true}
	for _, mf := range m.Files {
		listed[mf.Name] = true
		verifyFileHash(v, files[mf.Name], mf)
	}
	for _, f := range zr.File {
		if !listed[f.Name] {
			v.addf(CheckHashes, f.Name, "the manifest does not list this file")
		}
	}
	for _, need := range []string{FileReportJSON, FileRunsCSV, FileJUnit, FileEvents} {
		if !listed[need] {
			v.addf(CheckHashes, FileManifest, "the manifest does not list %s", need)
		}
	}
	figs, head := verifyEvents(v, files[FileEvents])
	verifyReport(v, files[FileReportJSON], figs, head)
	return v, nil
}

func readAll(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// manifestLimit bounds what Verify reads of manifest.json into memory.
const manifestLimit = 1 << 20

func verifyManifest(v *Verification, files map[string]*zip.File, pub ed25519.PublicKey) *Manifest {
	mf, sf := files[FileManifest], files[FileManifestSig]
	if mf == nil {
		v.addf(CheckSignature, FileManifest, "missing from the bundle")
		return nil
	}
	if sf == nil {
		v.addf(CheckSignature, FileManifestSig, "missing from the bundle")
		return nil
	}
	mb, err := readAll(mf, manifestLimit)
	if err != nil {
		v.addf(CheckSignature, FileManifest, "unreadable: %v", err)
		return nil
	}
	sig, err := readAll(sf, ed25519.SignatureSize)
	if err != nil || len(sig) != ed25519.SignatureSize {
		v.addf(CheckSignature, FileManifestSig, "not a %d-byte Ed25519 signature", ed25519.SignatureSize)
	} else if !ed25519.Verify(pub, mb, sig) {
		v.addf(CheckSignature, FileManifestSig, "the signature does not match manifest.json with this public key: the manifest was altered, or the bundle was signed by another key")
	} else {
		v.SignatureValid = true
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		v.addf(CheckSignature, FileManifest, "not a manifest: %v", err)
		return nil
	}
	if fp, err := Fingerprint(pub); err == nil && m.SigningKeyFingerprint != fp {
		v.addf(CheckSignature, FileManifest, "names signing key %s, but the public key given is %s", m.SigningKeyFingerprint, fp)
	}
	return &m
}

func verifyFileHash(v *Verification, f *zip.File, mf ManifestFile) {
	if f == nil {
		v.addf(CheckHashes, mf.Name, "listed in the manifest but missing from the bundle")
		return
	}
	rc, err := f.Open()
	if err != nil {
		v.addf(CheckHashes, mf.Name, "unreadable: %v", err)
		return
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		v.addf(CheckHashes, mf.Name, "unreadable: %v", err)
		return
	}
	sum := hex.EncodeToString(h.Sum(nil))
	switch {
	case sum != mf.SHA256:
		v.addf(CheckHashes, mf.Name, "its SHA-256 is %s but the manifest says %s: the file was altered", sum, mf.SHA256)
	case n != mf.Size:
		v.addf(CheckHashes, mf.Name, "it is %d bytes but the manifest says %d", n, mf.Size)
	default:
		v.Files++
	}
}

// figureKey names a service's measurement in a drill.
type figureKey struct{ run, service string }

// figures is what the events of a drill give: per service, the RTO and RPO its measurement
// event's raw inputs give, and the drill's RTO.
type figures struct {
	services map[figureKey]recomputed
	runRTO   map[string]*int64
}

type recomputed struct{ rto, rpo *int64 }

// auditLink is what the chain check keeps of a row: its number, and the first half of its
// hash and of its predecessor's (a row's full hash is checked against its content as it is
// read; half a SHA-256 is still out of a forger's reach, and keeps 2,000,000 rows in 80 MB).
type auditLink struct {
	seq        int64
	prev, hash [sha256.Size / 2]byte
}

// eventLineLimit bounds one line of events.ndjson.
const eventLineLimit = 16 << 20

func verifyEvents(v *Verification, f *zip.File) (*figures, *AuditHead) {
	figs := &figures{services: map[figureKey]recomputed{}, runRTO: map[string]*int64{}}
	if f == nil {
		return figs, nil
	}
	rc, err := f.Open()
	if err != nil {
		v.addf(CheckChain, FileEvents, "unreadable: %v", err)
		return figs, nil
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), eventLineLimit)
	var links []auditLink
	var head *AuditHead
	// The run whose events are being read, its next event number, and its measurements.
	var run string
	var nextSeq int64
	var runMs []*drills.MeasurementEvidence
	endRun := func() {
		if run != "" {
			figs.runRTO[run] = drillRTO(runMs)
		}
		runMs = nil
	}
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		var kind struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(b, &kind); err != nil {
			v.addf(CheckChain, FileEvents, "line %d is not JSON: %v", line, err)
			continue
		}
		if head != nil {
			v.addf(CheckChain, FileEvents, "line %d follows the audit head, which must be the last line", line)
		}
		switch kind.Type {
		case lineAuditHead:
			var hl headLine
			if err := json.Unmarshal(b, &hl); err != nil {
				v.addf(CheckChain, FileEvents, "line %d: the audit head is unreadable: %v", line, err)
				continue
			}
			head = &hl.AuditHead
		case lineRunEvent:
			var ev Event
			if err := json.Unmarshal(b, &ev); err != nil {
				v.addf(CheckChain, FileEvents, "line %d: the event is unreadable: %v", line, err)
				continue
			}
			if ev.RunID != run {
				endRun()
				run, nextSeq = ev.RunID, 1
			}
			if ev.Seq != nextSeq {
				v.addf(CheckChain, FileEvents, "line %d: run %s event %d follows event %d: events are missing or out of order", line, ev.RunID, ev.Seq, nextSeq-1)
			}
			nextSeq = ev.Seq + 1
			links = checkAuditRow(v, line, &ev, links)
			if ev.Kind == drills.EventMeasurement {
				var m drills.MeasurementEvidence
				if err := json.Unmarshal(ev.Data, &m); err != nil || m.Service == "" {
					v.addf(CheckChain, FileEvents, "line %d: run %s event %d: the measurement's data is unreadable", line, ev.RunID, ev.Seq)
					continue
				}
				figs.services[figureKey{ev.RunID, m.Service}] = recomputed{rto: m.RTO(), rpo: m.RPOFigure()}
				runMs = append(runMs, &m)
				// The figures the run recorded must follow from their own inputs, too.
				for _, c := range []struct {
					what           string
					recorded, gave *int64
				}{{"RTO", m.RTOMS, m.RTO()}, {"RPO", m.RPOMS, m.RPOFigure()}} {
					if !sameFigure(c.recorded, c.gave) {
						v.addf(CheckFigures, FileEvents, "line %d: run %s %s %s: the event records %s, its raw inputs give %s", line, ev.RunID, m.Service, c.what, msText(c.recorded), msText(c.gave))
					}
				}
			}
		default:
			v.addf(CheckChain, FileEvents, "line %d has an unknown type %q", line, kind.Type)
		}
	}
	endRun()
	if err := sc.Err(); err != nil {
		v.addf(CheckChain, FileEvents, "unreadable after line %d: %v", line, err)
	}
	if head == nil {
		v.addf(CheckChain, FileEvents, "the audit chain head (the last line) is missing")
		return figs, nil
	}
	v.AuditHead = *head
	checkChain(v, links, head)
	return figs, head
}

// drillRTO is a drill's RTO from its measurement events: from T0 to the last service
// restored, when every service was; nil otherwise.
func drillRTO(ms []*drills.MeasurementEvidence) *int64 {
	var last *int64
	for _, m := range ms {
		r := m.RTO()
		if r == nil {
			return nil
		}
		if last == nil || *r > *last {
			last = r
		}
	}
	return last
}

// checkAuditRow checks an event's audit row: its hash, and that its content is the event. It
// returns links with the row's.
func checkAuditRow(v *Verification, line int, ev *Event, links []auditLink) []auditLink {
	a := ev.Audit
	if a == nil {
		return links
	}
	if got := auditchain.Hash(a.PrevHash, a.Seq, a.Content); got != a.Hash {
		v.addf(CheckChain, FileEvents, "line %d: audit row %d (run %s event %d) was altered: its hash does not match its content", line, a.Seq, ev.RunID, ev.Seq)
	}
	l := auditLink{seq: a.Seq}
	prev, perr := hex.DecodeString(a.PrevHash)
	hash, herr := hex.DecodeString(a.Hash)
	if perr != nil || len(prev) != sha256.Size {
		v.addf(CheckChain, FileEvents, "line %d: audit row %d: prev_hash is not a SHA-256", line, a.Seq)
	} else {
		copy(l.prev[:], prev)
	}
	if herr != nil || len(hash) != sha256.Size {
		v.addf(CheckChain, FileEvents, "line %d: audit row %d: hash is not a SHA-256", line, a.Seq)
	} else {
		copy(l.hash[:], hash)
	}
	links = append(links, l)
	var stored map[string]any
	if err := json.Unmarshal([]byte(a.Content), &stored); err != nil {
		v.addf(CheckChain, FileEvents, "line %d: audit row %d: its content is not JSON", line, a.Seq)
		return links
	}
	want := map[string]any{
		"source": "run_event", "run_id": ev.RunID, "seq": ev.Seq, "at": ev.At.UTC().Format(auditchain.TimeLayout),
		"kind": ev.Kind, "step_key": ev.StepKey, "message": ev.Message, "data": ev.Data,
	}
	var differ []string
	for k, w := range want {
		wb, _ := json.Marshal(w)
		var wv any
		_ = json.Unmarshal(wb, &wv)
		if !reflect.DeepEqual(stored[k], wv) {
			differ = append(differ, k)
		}
	}
	if len(differ) > 0 {
		sort.Strings(differ)
		v.addf(CheckChain, FileEvents, "line %d: run %s event %d differs from audit row %d, which recorded it (%s): the event was altered", line, ev.RunID, ev.Seq, a.Seq, joinWords(differ))
	}
	return links
}

// checkChain checks the links between the segment's consecutive rows and the segment
// against the chain head.
func checkChain(v *Verification, links []auditLink, head *AuditHead) {
	sort.Slice(links, func(i, j int) bool { return links[i].seq < links[j].seq })
	genesis, _ := hex.DecodeString(auditchain.Genesis)
	var headHash [sha256.Size / 2]byte
	if hb, err := hex.DecodeString(head.Hash); err == nil && len(hb) == sha256.Size {
		copy(headHash[:], hb)
	} else if head.Seq > 0 {
		v.addf(CheckChain, FileEvents, "the audit head's hash is not a SHA-256")
	}
	for i, l := range links {
		if i > 0 && links[i-1].seq == l.seq {
			v.addf(CheckChain, FileEvents, "audit row %d appears twice", l.seq)
			continue
		}
		if l.seq == 1 && !bytes.Equal(l.prev[:], genesis[:len(l.prev)]) {
			v.addf(CheckChain, FileEvents, "audit row 1 does not start from the chain's genesis")
		}
		if i > 0 && links[i-1].seq == l.seq-1 && links[i-1].hash != l.prev {
			v.addf(CheckChain, FileEvents, "audit row %d does not link to row %d: a row was altered, removed or inserted", l.seq, l.seq-1)
		}
		if l.seq > head.Seq {
			v.addf(CheckChain, FileEvents, "audit row %d is beyond the chain head %d", l.seq, head.Seq)
		}
		if l.seq == head.Seq && l.hash != headHash {
			v.addf(CheckChain, FileEvents, "audit row %d is the chain head, but its hash is not the head's", l.seq)
		}
	}
	v.AuditRows = int64(len(links))
}

func joinWords(ws []string) string {
	var b bytes.Buffer
	for i, w := range ws {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(w)
	}
	return b.String()
}

func sameFigure(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func msText(v *int64) string {
	if v == nil {
		return "no figure"
	}
	return strconv.FormatInt(*v, 10) + "ms"
}

// verifyReport reads report.json as a stream: its drills one by one, then its header,
// holding each figure to the one its events give.
func verifyReport(v *Verification, f *zip.File, figs *figures, head *AuditHead) {
	if f == nil {
		return
	}
	rc, err := f.Open()
	if err != nil {
		v.addf(CheckFigures, FileReportJSON, "unreadable: %v", err)
		return
	}
	defer rc.Close()
	inReport := map[string]bool{}
	h, err := readReportJSON(rc, func(d *Drill) error {
		if inReport[d.RunID] {
			v.addf(CheckFigures, FileReportJSON, "run %s is listed twice", d.RunID)
		}
		inReport[d.RunID] = true
		checkDrill(v, d, figs)
		return nil
	})
	if err != nil {
		v.addf(CheckFigures, FileReportJSON, "not a report: %v", err)
		return
	}
	v.State = h.State
	var missing []string
	for run := range figs.runRTO {
		if !inReport[run] {
			missing = append(missing, run)
		}
	}
	sort.Strings(missing)
	for _, run := range missing {
		v.addf(CheckFigures, FileReportJSON, "run %s has events in events.ndjson but is not among the report's drills", run)
	}
	if h.ID != v.ReportID || h.Version != v.ReportVersion {
		v.addf(CheckFigures, FileReportJSON, "it is report %s version %d, but the manifest signs %s version %d", h.ID, h.Version, v.ReportID, v.ReportVersion)
	}
	if head != nil && (h.AuditHead.Seq != head.Seq || h.AuditHead.Hash != head.Hash) {
		v.addf(CheckChain, FileReportJSON, "its audit head (row %d, %.12s…) is not the one events.ndjson ends with (row %d, %.12s…)", h.AuditHead.Seq, h.AuditHead.Hash, head.Seq, head.Hash)
	}
	for _, s := range h.Services {
		for _, c := range []struct {
			what, run string
			said      *int64
			pick      func(recomputed) *int64
		}{
			{"RTO", s.RTOMeasuredRun, s.RTOMeasuredMS, func(r recomputed) *int64 { return r.rto }},
			{"RPO", s.RPOMeasuredRun, s.RPOMeasuredMS, func(r recomputed) *int64 { return r.rpo }},
		} {
			if c.said == nil {
				continue
			}
			if c.run == "" {
				v.addf(CheckFigures, FileReportJSON, "%s %s: the report says %s but names no drill it comes from", s.Service, c.what, msText(c.said))
				continue
			}
			r, ok := figs.services[figureKey{c.run, s.Service}]
			if !ok {
				v.addf(CheckFigures, FileReportJSON, "%s %s: the report says %s from run %s, but events.ndjson has no measurement of %s in that run", s.Service, c.what, msText(c.said), c.run, s.Service)
				continue
			}
			v.Figures++
			if got := c.pick(r); !sameFigure(c.said, got) {
				v.addf(CheckFigures, FileReportJSON, "%s %s: report says %s, events give %s (run %s)", s.Service, c.what, msText(c.said), msText(got), c.run)
			}
		}
	}
}

func checkDrill(v *Verification, d *Drill, figs *figures) {
	if _, ok := figs.runRTO[d.RunID]; !ok {
		v.addf(CheckFigures, FileReportJSON, "run %s: events.ndjson holds none of its events", d.RunID)
	}
	if len(d.Measurements) > 0 {
		if got, ok := figs.runRTO[d.RunID]; ok && d.RTOMS != nil {
			v.Figures++
			if !sameFigure(d.RTOMS, got) {
				v.addf(CheckFigures, FileReportJSON, "run %s RTO: report says %s, events give %s", d.RunID, msText(d.RTOMS), msText(got))
			}
		}
	}
	for _, m := range d.Measurements {
		r, ok := figs.services[figureKey{d.RunID, m.Service}]
		if !ok {
			if m.RTOMS != nil || m.RPOMS != nil {
				v.addf(CheckFigures, FileReportJSON, "run %s %s: the report gives figures, but events.ndjson has no measurement of it", d.RunID, m.Service)
			}
			continue
		}
		v.Figures += 2
		if !sameFigure(m.RTOMS, r.rto) {
			v.addf(CheckFigures, FileReportJSON, "run %s %s RTO: report says %s, events give %s", d.RunID, m.Service, msText(m.RTOMS), msText(r.rto))
		}
		if !sameFigure(m.RPOMS, r.rpo) {
			v.addf(CheckFigures, FileReportJSON, "run %s %s RPO: report says %s, events give %s", d.RunID, m.Service, msText(m.RPOMS), msText(r.rpo))
		}
	}
}
