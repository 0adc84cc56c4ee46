package command

import (
	"bytes"
	"strings"
	"testing"
)

func TestBoundedBufferNeverGrowsPastItsBounds(t *testing.T) {
	t.Parallel()
	b := &boundedBuffer{max: 100}
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for range 100 { // 3.2 MB
		if n, err := b.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(chunk))
		}
	}
	b.Write([]byte("\nlast line\n"))
	if b.total != 100*int64(len(chunk))+11 || len(b.head) != 100 || !b.truncated() {
		t.Errorf("total %d, kept %d, truncated %v; want %d, 100, true", b.total, len(b.head), b.truncated(), 100*len(chunk)+11)
	}
	if cap(b.head) > 2*100 || cap(b.tail) > 2*tailBytes {
		t.Errorf("capacities head %d, tail %d: the buffer grew past its bounds", cap(b.head), cap(b.tail))
	}
	if got := b.lastLine(); got != "last line" {
		t.Errorf("lastLine() = %q, want %q", got, "last line")
	}
}

func TestLastLine(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"one\n", "one"},
		{"one\ntwo\r\n\n", "two"},
		{strings.Repeat("y", 600), strings.Repeat("y", maxLastLine)},
	}
	for _, tt := range tests {
		b := &boundedBuffer{max: 10}
		b.Write([]byte(tt.in))
		if got := b.lastLine(); got != tt.want {
			t.Errorf("lastLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
