package store

import "gorm.io/gorm"

// Test-only access to internals for the external store_test package.

// AllModelsForTest returns a zero value of every gorm model.
func AllModelsForTest() []any { return allModels() }

// DBForTest returns the store's gorm handle.
func (s *Store) DBForTest() *gorm.DB { return s.db }
