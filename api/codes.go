package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/models"
)

// codeAnswer is a code as the API shows it: the stored fields plus the two
// public URLs that reach it.
type codeAnswer struct {
	models.Code
	QRURL   string `json:"qr_url"`
	LinkURL string `json:"link_url"`
}

func (s *server) codeAnswer(c models.Code) codeAnswer {
	return codeAnswer{Code: c, QRURL: s.baseURL + "/q/" + c.Slug, LinkURL: s.baseURL + "/l/" + c.Slug}
}

var codeFields = []string{"slug", "name", "destination_url", "active"}

// codeInput is the decoded body of a create or update; nil means "not given".
type codeInput struct {
	Slug, Name, DestinationURL *string
	Active                     *bool
}

func readCodeInput(r *http.Request) (codeInput, error) {
	obj, err := readObject(r, codeFields...)
	if err != nil {
		return codeInput{}, err
	}
	var in codeInput
	if in.Slug, err = optionalString(obj, "slug"); err != nil {
		return codeInput{}, err
	}
	if in.Name, err = optionalString(obj, "name"); err != nil {
		return codeInput{}, err
	}
	if in.DestinationURL, err = optionalString(obj, "destination_url"); err != nil {
		return codeInput{}, err
	}
	if in.Active, err = optionalBool(obj, "active"); err != nil {
		return codeInput{}, err
	}
	return in, nil
}

// apply copies the given fields onto code and validates the result.
func (in codeInput) apply(code *models.Code) error {
	if in.Slug != nil {
		code.Slug = *in.Slug
	}
	if in.Name != nil {
		code.Name = *in.Name
	}
	if in.DestinationURL != nil {
		code.DestinationURL = *in.DestinationURL
	}
	if in.Active != nil {
		code.Active = *in.Active
	}
	if err := validateSlug(code.Slug); err != nil {
		return err
	}
	if err := validateText("name", code.Name, maxNameLength); err != nil {
		return err
	}
	return validateURL("destination_url", code.DestinationURL)
}

func (s *server) createCode(c *gin.Context) {
	in, err := readCodeInput(c.Request)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	if in.DestinationURL == nil {
		writeError(c, s.log, models.Invalid("destination_url", "is required"))
		return
	}
	code := models.Code{WorkspaceID: workspaceID(c), Active: true}
	generated := in.Slug == nil
	if generated {
		code.Slug = newSlug()
	}
	if err := in.apply(&code); err != nil {
		writeError(c, s.log, err)
		return
	}
	// A generated slug may (very rarely) be taken: draw again a few times.
	for attempt := 0; ; attempt++ {
		err = s.store.CreateCode(c.Request.Context(), &code)
		if !errors.Is(err, models.ErrConflict) || !generated || attempt == 4 {
			break
		}
		code.Slug = newSlug()
	}
	if errors.Is(err, models.ErrConflict) {
		err = errSlugTaken(code.Slug)
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, s.codeAnswer(code))
}

func (s *server) listCodes(c *gin.Context) {
	after, limit, err := pageQuery(c, codePrefix)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ws := workspaceID(c)
	codes, next, err := fetchPage(func(p models.Page) ([]models.Code, error) {
		return s.store.ListCodes(c.Request.Context(), ws, p)
	}, func(code models.Code) string { return code.ID }, after, limit)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	out := listAnswer[codeAnswer]{Data: make([]codeAnswer, len(codes)), NextCursor: next}
	for i, code := range codes {
		out.Data[i] = s.codeAnswer(code)
	}
	c.JSON(http.StatusOK, out)
}

// loadCode returns the code named by the :id path parameter in the
// caller's workspace. Another workspace's code is simply not found.
func (s *server) loadCode(c *gin.Context) (models.Code, error) {
	codeID := c.Param("id")
	if !isObjectID(codePrefix, codeID) {
		return models.Code{}, errNotFound("code")
	}
	code, err := s.store.GetCode(c.Request.Context(), workspaceID(c), codeID)
	if errors.Is(err, models.ErrNotFound) {
		return models.Code{}, errNotFound("code")
	}
	return code, err
}

func (s *server) getCode(c *gin.Context) {
	code, err := s.loadCode(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, s.codeAnswer(code))
}

func (s *server) updateCode(c *gin.Context) {
	code, err := s.loadCode(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	in, err := readCodeInput(c.Request)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	if err := in.apply(&code); err != nil {
		writeError(c, s.log, err)
		return
	}
	s.saveCode(c, code)
}

func (s *server) setCodeActive(active bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		code, err := s.loadCode(c)
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		code.Active = active
		s.saveCode(c, code)
	}
}

// saveCode stores an updated code and answers it.
func (s *server) saveCode(c *gin.Context, code models.Code) {
	err := s.store.UpdateCode(c.Request.Context(), &code)
	switch {
	case errors.Is(err, models.ErrConflict):
		err = errSlugTaken(code.Slug)
	case errors.Is(err, models.ErrNotFound): // deleted meanwhile
		err = errNotFound("code")
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, s.codeAnswer(code))
}

func (s *server) deleteCode(c *gin.Context) {
	codeID := c.Param("id")
	if !isObjectID(codePrefix, codeID) {
		writeError(c, s.log, errNotFound("code"))
		return
	}
	err := s.store.DeleteCode(c.Request.Context(), workspaceID(c), codeID)
	if errors.Is(err, models.ErrNotFound) {
		err = errNotFound("code")
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// optionalString and optionalBool read a field as a pointer: nil when absent
// or null.
func optionalString(obj jsonObject, field string) (*string, error) {
	v, ok, err := obj.String(field)
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}

func optionalBool(obj jsonObject, field string) (*bool, error) {
	v, ok, err := obj.Bool(field)
	if err != nil || !ok {
		return nil, err
	}
	return &v, nil
}
