package drills

import "github.com/hashicorp/hcl/v2"

// ParseNotifyBlocks parses notify "name" { ... } blocks written outside the estate (in
// firedrill serve's server configuration) with the estate's rules: the same kinds, events and
// secret references, and names unique among them.
func ParseNotifyBlocks(blocks []*hcl.Block, filename string) ([]*NotifyChannel, Diagnostics) {
	p := &estateParser{diagSink: diagSink{file: filename}}
	seen := map[string]hcl.Range{}
	var channels []*NotifyChannel
	for _, b := range blocks {
		name, _ := p.label(b)
		if prev, dup := seen[name]; dup {
			p.errorf(b.LabelRanges[0], "notify %q is already declared at line %d", name, prev.Start.Line)
			continue
		}
		seen[name] = b.DefRange
		channels = append(channels, p.notify(b, name))
	}
	p.diags.Sort()
	return channels, p.diags
}
