package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/internal/enrich"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

const (
	scanPrefix = "scan"
	// defaultStatsRange is the stats window when the request names none.
	defaultStatsRange = 30 * 24 * time.Hour
	// maxStatsRange bounds one stats request (by_day lists every day).
	maxStatsRange = 366 * 24 * time.Hour
)

var (
	filterParams = []string{"from", "to", "source", "country", "device_type", "bots"}
	scansParams  = append([]string{"limit", "cursor"}, filterParams...)
	deviceTypes  = []string{enrich.DeviceMobile, enrich.DeviceTablet, enrich.DeviceDesktop, enrich.DeviceTV,
		enrich.DeviceConsole, enrich.DeviceBot, enrich.DeviceUnknown}
)

// scanAnswer is a scan as the API shows it: the shape of the scan.created
// event's data, without the client IP.
type scanAnswer struct {
	ID             string         `json:"id"`
	CodeID         string         `json:"code_id"`
	Timestamp      time.Time      `json:"timestamp"`
	Source         string         `json:"source"`
	DestinationURL string         `json:"destination_url"`
	Referrer       string         `json:"referrer"`
	UserAgent      string         `json:"user_agent"`
	Geo            webhook.Geo    `json:"geo"`
	Device         webhook.Device `json:"device"`
	Bot            webhook.Bot    `json:"bot"`
	Unique         bool           `json:"unique"`
}

func newScanAnswer(s models.Scan) scanAnswer {
	return scanAnswer{
		ID: s.ID, CodeID: s.CodeID, Timestamp: s.Timestamp.UTC(), Source: s.Source,
		DestinationURL: s.DestinationURL, Referrer: s.Referrer, UserAgent: s.UserAgent,
		Geo: webhook.Geo{
			Country: s.Country, CountryCode: s.CountryCode, Region: s.Region, City: s.City,
			Latitude: s.Latitude, Longitude: s.Longitude, Timezone: s.Timezone,
		},
		Device: webhook.Device{
			Type: s.DeviceType, Browser: s.Browser, BrowserVersion: s.BrowserVersion, OS: s.OS, OSVersion: s.OSVersion,
		},
		Bot:    webhook.Bot{IsBot: s.IsBot, Reason: s.BotReason},
		Unique: s.IsUnique,
	}
}

// statsAnswer is the answer of GET /codes/:id/stats.
type statsAnswer struct {
	CodeID string    `json:"code_id"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	models.ScanStats
}

// strictQuery returns the query parameters of c, one value each, refusing
// parameters not in allowed and parameters given twice: a typo must not
// silently widen a filter.
func strictQuery(c *gin.Context, allowed []string) (map[string]string, error) {
	values, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return nil, errBadRequest("", "query string is malformed")
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys) // name the same parameter every time
	out := make(map[string]string, len(values))
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return nil, errBadRequest(k, fmt.Sprintf("unknown query parameter %q (allowed: %s)", k, strings.Join(allowed, ", ")))
		}
		if len(values[k]) > 1 {
			return nil, errBadRequest(k, fmt.Sprintf("query parameter %q is given more than once", k))
		}
		out[k] = values[k][0]
	}
	return out, nil
}

// readScanFilter validates the filter parameters shared by the scans list
// and the stats.
func readScanFilter(q map[string]string) (models.ScanFilter, error) {
	var f models.ScanFilter
	var err error
	if v, ok := q["from"]; ok {
		if f.From, err = timeParam("from", v); err != nil {
			return f, err
		}
	}
	if v, ok := q["to"]; ok {
		if f.To, err = timeParam("to", v); err != nil {
			return f, err
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, errBadRequest("to", "to must be later than from")
	}
	if v, ok := q["source"]; ok {
		if v != sourceQR && v != sourceLink {
			return f, errBadRequest("source", "source must be qr or link")
		}
		f.Source = v
	}
	if v, ok := q["country"]; ok {
		if !isCountryCode(v) {
			return f, errBadRequest("country", "country must be an ISO 3166-1 alpha-2 code such as DE or US")
		}
		f.CountryCode = strings.ToUpper(v)
	}
	if v, ok := q["device_type"]; ok {
		if !slices.Contains(deviceTypes, v) {
			return f, errBadRequest("device_type", "device_type must be one of "+strings.Join(deviceTypes, ", "))
		}
		f.DeviceType = v
	}
	if v, ok := q["bots"]; ok {
		switch v {
		case "include":
			f.Bots = models.BotsInclude
		case "exclude":
			f.Bots = models.BotsExclude
		case "only":
			f.Bots = models.BotsOnly
		default:
			return f, errBadRequest("bots", "bots must be include, exclude or only")
		}
	}
	return f, nil
}

func timeParam(field, raw string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		msg := field + " must be an RFC 3339 time such as 2026-11-01T00:00:00Z"
		if strings.Contains(raw, " ") {
			msg += " (a '+' in a query string must be sent as %2B)"
		}
		return time.Time{}, errBadRequest(field, msg)
	}
	return t.UTC(), nil
}

func isCountryCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// listScans answers GET /codes/:id/scans: the code's scans, newest first.
func (s *server) listScans(c *gin.Context) {
	code, err := s.loadCode(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	q, err := strictQuery(c, scansParams)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	f, err := readScanFilter(q)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	after, limit, err := pageQuery(c, scanPrefix)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	scans, next, err := fetchPage(func(p models.Page) ([]models.Scan, error) {
		return s.store.ListScans(c.Request.Context(), code.WorkspaceID, code.ID, f, p)
	}, func(sc models.Scan) string { return sc.ID }, after, limit)
	if errors.Is(err, models.ErrInvalid) { // a well-formed cursor of another code
		err = errBadRequest("cursor", "cursor is not valid: pass next_cursor from the previous page")
	}
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	out := listAnswer[scanAnswer]{Data: make([]scanAnswer, len(scans)), NextCursor: next}
	for i, sc := range scans {
		out.Data[i] = newScanAnswer(sc)
	}
	c.JSON(http.StatusOK, out)
}

// scanStats answers GET /codes/:id/stats: totals and breakdowns over a
// time range, the last 30 days unless from/to say otherwise.
func (s *server) scanStats(c *gin.Context) {
	code, err := s.loadCode(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	f, err := s.readStatsFilter(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	st, err := s.store.ScanStats(c.Request.Context(), code.WorkspaceID, code.ID, f)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, statsAnswer{CodeID: code.ID, From: f.From, To: f.To, ScanStats: st})
}

// workspaceStatsAnswer is the answer of GET /stats: the code stats' shape
// for every code of the workspace, and the breakdown by code.
type workspaceStatsAnswer struct {
	WorkspaceID string    `json:"workspace_id"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	models.ScanStats
	ByCode []models.Bucket `json:"by_code"`
}

// workspaceStats answers GET /stats: the stats of every scan of the
// caller's workspace (deleted codes' too), with the same parameters as
// a code's stats.
func (s *server) workspaceStats(c *gin.Context) {
	f, err := s.readStatsFilter(c)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	ws := workspaceID(c)
	st, err := s.store.WorkspaceStats(c.Request.Context(), ws, f)
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, workspaceStatsAnswer{WorkspaceID: ws, From: f.From, To: f.To, ScanStats: st, ByCode: st.ByCode})
}

// readStatsFilter reads the stats' query parameters: the filters, and the
// range, the last 30 days unless from/to say otherwise, at most 366 days.
func (s *server) readStatsFilter(c *gin.Context) (models.ScanFilter, error) {
	q, err := strictQuery(c, filterParams)
	if err != nil {
		return models.ScanFilter{}, err
	}
	f, err := readScanFilter(q)
	if err != nil {
		return models.ScanFilter{}, err
	}
	if f.To.IsZero() {
		f.To = s.now().UTC().Truncate(time.Second)
		if !f.From.IsZero() && !f.From.Before(f.To) {
			return models.ScanFilter{}, errBadRequest("from", "from must be in the past when to is not given")
		}
	}
	if f.From.IsZero() {
		f.From = f.To.Add(-defaultStatsRange)
	}
	if f.To.Sub(f.From) > maxStatsRange {
		return models.ScanFilter{}, errBadRequest("from", "the range from..to must be at most 366 days")
	}
	return f, nil
}
