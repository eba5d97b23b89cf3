package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/models"
)

// disabledByAPI is the reason shown when a user turns an endpoint off
// (the delivery worker writes its own reasons, e.g. after a 410).
const disabledByAPI = "disabled through the API"

// endpointAnswer is an endpoint as the API shows it. The secret is not part
// of it: it appears once, in the create answer (endpointCreatedAnswer).
type endpointAnswer struct {
	ID             string `json:"id"`
	URL            string `json:"url"`
	Description    string `json:"description"`
	Enabled        bool   `json:"enabled"`
	DisabledReason string `json:"disabled_reason"`
	// State is enabled, paused, disabled, gone or auto_disabled; see
	// docs/delivery-log.md, "Endpoint states".
	State        string     `json:"state"`
	Operational  bool       `json:"operational"` // receives operational events, no scans
	PausedAt     *time.Time `json:"paused_at"`
	FailingSince *time.Time `json:"failing_since"` // first failed attempt since the last delivered one
	AllCodes     bool       `json:"all_codes"`
	HumanOnly    bool       `json:"human_only"`
	CodeIDs      []string   `json:"code_ids"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`

	// true: deliveries also carry X-ScanForge-Signature-256 (body only).
	BodySignature bool `json:"body_signature"`

	// Set once the secret has been rotated (POST …/rotate-secret).
	SecretRotatedAt         *time.Time `json:"secret_rotated_at,omitempty"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`

	Format string       `json:"format"` // see endpoint_destination.go
	Fields fieldsAnswer `json:"fields"`

	// Deliveries per second and concurrent attempts; null: no limit
	// (endpoint_limits.go).
	RateLimit   *float64 `json:"rate_limit"`
	MaxInFlight *int     `json:"max_in_flight"`
}

type endpointCreatedAnswer struct {
	endpointAnswer
	Secret string `json:"secret"`
}

func newEndpointAnswer(e models.Endpoint) endpointAnswer {
	codeIDs := e.CodeIDs
	if codeIDs == nil {
		codeIDs = []string{}
	}
	return endpointAnswer{
		ID: e.ID, URL: e.URL, Description: e.Description, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, State: e.State(), Operational: e.Operational, PausedAt: e.PausedAt, FailingSince: e.FailingSince,
		AllCodes: e.AllCodes, HumanOnly: e.HumanOnly, CodeIDs: codeIDs,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		SecretRotatedAt: e.SecretRotatedAt, PreviousSecretExpiresAt: e.PreviousSecretExpiresAt,
		BodySignature: e.BodySignature,
		Format:        formatOrDefault(e.Format), Fields: newFieldsAnswer(e.Fields),
		RateLimit: e.RateLimit, MaxInFlight: e.MaxInFlight,
	}
}

var endpointFields = []string{"url", "description", "code_ids", "enabled", "human_only", "format", "fields", "rate_limit", "max_in_flight"}

// endpointCreateFields: a new endpoint may also ask for past scans.
var endpointCreateFields = append(slices.Clone(endpointFields), "backfill_since", "operational")

// endpointInput is the decoded body of a create or update; nil means "not
// given". CodeIDs given as [] means every code of the workspace.
type endpointInput struct {
	signingInput     // secret and body_signature: endpoint_secret.go
	limitsInput      // rate_limit and max_in_flight: endpoint_limits.go
	URL, Description *string
	CodeIDs          []string
	CodeIDsGiven     bool
	Enabled          *bool
	HumanOnly        *bool // true: scans with a bot verdict are not delivered
	Format           *string
	Fields           *destination.Fields // replaces the whole policy
	// BackfillSince (create only): send the scans recorded since then.
	BackfillSince *time.Time
	// Operational (create only): receive operational events, no scans.
	Operational *bool
}

func readEndpointInput(r *http.Request, fields []string) (endpointInput, error) {
	obj, err := readObject(r, append(slices.Clone(fields), signingFields...)...)
	if err != nil {
		return endpointInput{}, err
	}
	var in endpointInput
	if in.signingInput, err = readSigningInput(obj); err != nil {
		return endpointInput{}, err
	}
	if in.limitsInput, err = readLimitsInput(obj); err != nil {
		return endpointInput{}, err
	}
	if in.URL, err = optionalString(obj, "url"); err != nil {
		return endpointInput{}, err
	}
	if in.Description, err = optionalString(obj, "description"); err != nil {
		return endpointInput{}, err
	}
	if in.CodeIDs, in.CodeIDsGiven, err = obj.Strings("code_ids"); err != nil {
		return endpointInput{}, err
	}
	if in.Enabled, err = optionalBool(obj, "enabled"); err != nil {
		return endpointInput{}, err
	}
	if in.HumanOnly, err = optionalBool(obj, "human_only"); err != nil {
		return endpointInput{}, err
	}
	if in.Format, err = readFormat(obj); err != nil {
		return endpointInput{}, err
	}
	if in.Fields, err = readFields(obj); err != nil {
		return endpointInput{}, err
	}
	if in.Operational, err = optionalBool(obj, "operational"); err != nil {
		return endpointInput{}, err
	}
	since, err := optionalString(obj, "backfill_since")
	if err != nil || since == nil {
		return in, err
	}
	t, err := time.Parse(time.RFC3339Nano, *since)
	if err != nil || t.After(time.Now()) {
		return endpointInput{}, models.Invalid("backfill_since", "must be an RFC 3339 time in the past")
	}
	in.BackfillSince = &t
	return in, nil
}

// apply copies the given fields onto e and validates the result.
func (in endpointInput) apply(e *models.Endpoint) error {
	in.signingInput.apply(e)
	in.limitsInput.apply(e)
	if in.URL != nil {
		e.URL = *in.URL
	}
	if in.Description != nil {
		e.Description = *in.Description
	}
	if in.CodeIDsGiven {
		ids, err := validateCodeIDs(in.CodeIDs)
		if err != nil {
			return err
		}
		sort.Strings(ids) // the order the store lists them in
		e.CodeIDs, e.AllCodes = ids, len(ids) == 0
	}
	if in.Enabled != nil {
		setEnabled(e, *in.Enabled)
	}
	if in.HumanOnly != nil {
		e.HumanOnly = *in.HumanOnly
	}
	if in.Format != nil {
		e.Format = *in.Format
	}
	if in.Fields != nil {
		e.Fields = *in.Fields
	}
	if err := validateURL("url", e.URL); err != nil {
		return err
	}
	return validateText("description", e.Description, maxDescriptionLength)
}

// setEnabled turns e on or off; turning it on clears why it was off.
func setEnabled(e *models.Endpoint, enabled bool) {
	switch {
	case enabled:
		e.Enabled, e.DisabledReason, e.DisabledCause = true, "", models.CauseNone
	case e.Enabled: // keep the first reason if it is already off
		e.Enabled, e.DisabledReason, e.DisabledCause = false, disabledByAPI, models.CauseOperator
	}
}

func (s *server) createEndpoint(c *gin.Context) {
	in, err := readEndpointInput(c.Request, endpointCreateFields)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	if in.URL == nil {
		writeError(c, s.log, models.Invalid("url", "is required"))
		return
	}
	secret, err := in.secretOrNew()
	if err != nil {
		writeError(c, s.log, fmt.Errorf("create endpoint: %w", err))
		return
	}
	e := models.Endpoint{WorkspaceID: workspaceID(c), Enabled: true, AllCodes: true, CodeIDs: []string{}, Format: destination.FormatScanForge}
	if in.Operational != nil {
		e.Operational = *in.Operational
	}
	if err := in.apply(&e); err != nil {
		writeError(c, s.log, err)
		return
	}
	if err := s.checkEndpointURL(c.Request.Context(), e.URL); err != nil {
		writeError(c, s.log, err)
		return
	}
	e.Secret = secret
	if err := s.store.CreateEndpoint(c.Request.Context(), &e); err != nil {
		writeError(c, s.log, err)
		return
	}
	if in.BackfillSince != nil && s.backfiller != nil {
		s.backfiller.StartBackfill(e, *in.BackfillSince)
	}
	c.JSON(http.StatusCreated, endpointCreatedAnswer{endpointAnswer: newEndpointAnswer(e), Secret: secret})
}

func (s *server) listEndpoints(c *gin.Context) {
	after, limit, err := pageQuery(c, endpointPrefix)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ws := workspaceID(c)
	eps, next, err := fetchPage(func(p models.Page) ([]models.Endpoint, error) {
		return s.store.ListEndpoints(c.Request.Context(), ws, p)
	}, func(e models.Endpoint) string { return e.ID }, after, limit)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	out := listAnswer[endpointAnswer]{Data: make([]endpointAnswer, len(eps)), NextCursor: next}
	for i, e := range eps {
		out.Data[i] = newEndpointAnswer(e)
	}
	c.JSON(http.StatusOK, out)
}

// loadEndpoint returns the endpoint named by the :id path parameter in the
// caller's workspace. Another workspace's endpoint is simply not found.
func (s *server) loadEndpoint(c *gin.Context) (models.Endpoint, error) {
	endpointID := c.Param("id")
	if !isObjectID(endpointPrefix, endpointID) {
		return models.Endpoint{}, errNotFound("endpoint")
	}
	e, err := s.store.GetEndpoint(c.Request.Context(), workspaceID(c), endpointID)
	if errors.Is(err, models.ErrNotFound) {
		return models.Endpoint{}, errNotFound("endpoint")
	}
	return e, err
}

func (s *server) getEndpoint(c *gin.Context) {
	e, err := s.loadEndpoint(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, newEndpointAnswer(e))
}

func (s *server) updateEndpoint(c *gin.Context) {
	e, err := s.loadEndpoint(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	before := e
	in, err := readEndpointInput(c.Request, endpointFields)
	if err == nil && in.Secret != nil {
		err = errSecretOnUpdate
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	if err := in.apply(&e); err != nil {
		writeError(c, s.log, err)
		return
	}
	if in.URL != nil { // an unchanged URL is checked again at every delivery
		if err := s.checkEndpointURL(c.Request.Context(), e.URL); err != nil {
			writeError(c, s.log, err)
			return
		}
	}
	if s.saveEndpoint(c, e) {
		s.notifyChange(c.Request.Context(), before, e)
	}
}

func (s *server) setEndpointEnabled(enabled bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		e, err := s.loadEndpoint(c)
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		before := e
		setEnabled(&e, enabled)
		if s.saveEndpoint(c, e) {
			s.notifyChange(c.Request.Context(), before, e)
		}
	}
}

// saveEndpoint stores an updated endpoint (with its subscriptions, which
// UpdateEndpoint always rewrites from e.CodeIDs) and answers it; it
// reports whether it did.
func (s *server) saveEndpoint(c *gin.Context, e models.Endpoint) bool {
	err := s.store.UpdateEndpoint(c.Request.Context(), &e)
	if errors.Is(err, models.ErrNotFound) { // deleted meanwhile
		err = errNotFound("endpoint")
	}
	if err != nil {
		writeError(c, s.log, err)
		return false
	}
	s.drainIfTaking(e)
	c.JSON(http.StatusOK, newEndpointAnswer(e))
	return true
}

func (s *server) deleteEndpoint(c *gin.Context) {
	endpointID := c.Param("id")
	if !isObjectID(endpointPrefix, endpointID) {
		writeError(c, s.log, errNotFound("endpoint"))
		return
	}
	err := s.store.DeleteEndpoint(c.Request.Context(), workspaceID(c), endpointID)
	if errors.Is(err, models.ErrNotFound) {
		err = errNotFound("endpoint")
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}
