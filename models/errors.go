package models

import (
	"errors"
	"strings"
)

// Sentinel errors of the domain. Callers wrap them with context (%w); the API
// maps them to HTTP statuses in one place (api/errors.go).
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid input")
	ErrUnauthorized = errors.New("unauthorized")
)

// ValidationError says which field of the input is wrong and why.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// Is makes errors.Is(err, ErrInvalid) true for every ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a ValidationError for field.
func Invalid(field, message string) error { return &ValidationError{Field: field, Message: message} }

// IsUniqueViolation recognises a unique-constraint failure on PostgreSQL
// (SQLSTATE 23505) and SQLite alike, whatever driver wraps it.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "23505") || strings.Contains(msg, "UNIQUE constraint failed")
}
