package report

// AppendEventLine exposes appendEventLine to the tests.
var AppendEventLine = appendEventLine
