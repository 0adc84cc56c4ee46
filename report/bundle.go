package report

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// errStop ends a walk of report.json early, when the caller has what it wanted.
var errStop = errors.New("stop")

// readReportJSON reads report.json as a stream: drill is called with each drill in turn, and
// the header (every field but the drills) is returned at the end. The document is never whole
// in memory.
func readReportJSON(r io.Reader, drill func(*Drill) error) (*Header, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("it does not open with an object")
	}
	fields := map[string]json.RawMessage{}
	listed := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		if key != "drills" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			fields[key] = raw
			continue
		}
		listed = true
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return nil, errors.New("drills is not an array")
		}
		for dec.More() {
			var d Drill
			if err := dec.Decode(&d); err != nil {
				return nil, fmt.Errorf("drills: %w", err)
			}
			if err := drill(&d); err != nil {
				return nil, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
	}
	if !listed {
		return nil, errors.New("it has no drills array")
	}
	hb, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	var h Header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// Bundle is a bundle read back: its header, and its drills and events streamed from its
// files. A published report is written from its draft's Bundle, so that what is signed off is
// exactly what the draft said. Bundle does not verify: call Verify first.
type Bundle struct {
	files  map[string]*zip.File
	Header *Header
}

// OpenBundle reads the header of the bundle in r.
func OpenBundle(r io.ReaderAt, size int64) (*Bundle, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("open bundle: not a zip: %w", err)
	}
	b := &Bundle{files: map[string]*zip.File{}}
	for _, f := range zr.File {
		b.files[f.Name] = f
	}
	for _, need := range []string{FileReportJSON, FileEvents} {
		if b.files[need] == nil {
			return nil, fmt.Errorf("open bundle: %s is missing", need)
		}
	}
	rc, err := b.files[FileReportJSON].Open()
	if err != nil {
		return nil, fmt.Errorf("open bundle: %s: %w", FileReportJSON, err)
	}
	defer rc.Close()
	b.Header, err = readReportJSON(rc, func(*Drill) error { return nil })
	if err != nil {
		return nil, fmt.Errorf("open bundle: %s: %w", FileReportJSON, err)
	}
	return b, nil
}

// Drills yields the bundle's drills from report.json.
func (b *Bundle) Drills(ctx context.Context) iter.Seq2[*Drill, error] {
	return func(yield func(*Drill, error) bool) {
		rc, err := b.files[FileReportJSON].Open()
		if err != nil {
			yield(nil, err)
			return
		}
		defer rc.Close()
		_, err = readReportJSON(rc, func(d *Drill) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !yield(d, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(nil, fmt.Errorf("%s: %w", FileReportJSON, err))
		}
	}
}

// Events yields the bundle's run events from events.ndjson.
func (b *Bundle) Events(ctx context.Context) iter.Seq2[*Event, error] {
	return func(yield func(*Event, error) bool) {
		rc, err := b.files[FileEvents].Open()
		if err != nil {
			yield(nil, err)
			return
		}
		defer rc.Close()
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 64<<10), eventLineLimit)
		for line := 1; sc.Scan(); line++ {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			var ev struct {
				Type string `json:"type"`
				Event
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				yield(nil, fmt.Errorf("%s: line %d: %w", FileEvents, line, err))
				return
			}
			if ev.Type != lineRunEvent {
				continue
			}
			if !yield(&ev.Event, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(nil, fmt.Errorf("%s: %w", FileEvents, err))
		}
	}
}

// Publish writes to w the published version of the draft bundle: the same header, drills
// and events, with the state published and the sign-off, signed with key.
func Publish(ctx context.Context, w io.Writer, draft *Bundle, signOff SignOff, key ed25519.PrivateKey, pdf PDFRenderer) (*Manifest, error) {
	if draft == nil || draft.Header == nil {
		return nil, errors.New("publish report: no draft bundle")
	}
	if draft.Header.State != StatePublished && draft.Header.State != StateDraft {
		return nil, fmt.Errorf("publish report: the bundle's state %q is neither draft nor published", draft.Header.State)
	}
	if draft.Header.State == StatePublished {
		return nil, fmt.Errorf("publish report %s: it is already published", draft.Header.ID)
	}
	if signOff.PublishedBy == "" || signOff.PublishedAt.IsZero() {
		return nil, errors.New("publish report: the sign-off needs who published it and when")
	}
	h := *draft.Header
	h.State = StatePublished
	so := signOff
	so.PublishedAt = so.PublishedAt.UTC()
	h.SignOff = &so
	return Write(ctx, w, &h, draft, key, pdf)
}
