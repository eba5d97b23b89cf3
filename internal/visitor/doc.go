// Package visitor derives the privacy-preserving visitor key of a scan: an
// HMAC-SHA256 of (client IP, user agent, code ID) under a key that belongs
// to one UTC day. The day's key is derived from the server secret
// (SCANFORGE_ENCRYPTION_KEY) with HKDF and the date, so every replica
// computes the same key without storing it anywhere; it lives in memory
// only. Keys of different days are independent, and so are the visitor
// keys they make: a visitor can be counted within a day of one code, never
// followed across days or codes.
package visitor
