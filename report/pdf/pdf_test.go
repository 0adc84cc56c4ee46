package pdf_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/firedrill/firedrill/report/pdf"
)

var sampleDir = flag.String("sample", "", "write the sample reports (ko and en) as PDFs into this directory, to look at")

func TestWriteSample(t *testing.T) {
	if *sampleDir == "" {
		t.Skip("-sample DIR not given")
	}
	for _, lang := range []string{"ko", "en"} {
		var buf bytes.Buffer
		if err := pdf.Render(&buf, sampleHeader(lang), sampleDrills(5, lang)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*sampleDir, "sample-"+lang+".pdf"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
