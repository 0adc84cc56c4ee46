package serverconfig

import (
	"slices"

	"github.com/firedrill/firedrill/drills"
)

// Config is a parsed server configuration file: the settings it writes and its notify blocks.
type Config struct {
	// File is the name the file was parsed under, as positions name it.
	File string
	// Values are the settings the file writes, in Settings order.
	Values []Value
	// Notify are the notification targets the file declares, as the estate's notify blocks.
	Notify []*drills.NotifyChannel
}

// Value is one setting as the file writes it.
type Value struct {
	Setting
	// Args are the value as serve's flag takes it, one flag value each: one element, except
	// for a List or a RoleMap. Empty for a SecretURL written as a reference.
	Args []string
	// RefEnv and RefFile are a SecretURL's reference (the variable or the file holding it);
	// RefFile is resolved against the file's directory.
	RefEnv, RefFile string
	// Pos is where the file writes it.
	Pos drills.Pos
}

// Value returns the setting written at key, if the file writes it (never on a nil Config).
func (c *Config) Value(key string) (Value, bool) {
	if c == nil {
		return Value{}, false
	}
	i := slices.IndexFunc(c.Values, func(v Value) bool { return v.Key == key })
	if i < 0 {
		return Value{}, false
	}
	return c.Values[i], true
}
