package bot

import "net/http/httptest"

// RouteIncidentPages routes the alerts and timeline pages of an incident
// on s for the tests, unless New did already (once server.go calls
// routeIncidentPages, this does nothing and can go).
func RouteIncidentPages(s *Server) {
	_, pattern := s.mux.Handler(httptest.NewRequest("GET", "/api/v1/incidents/INC-1/alerts", nil))
	if pattern != "GET /api/v1/incidents/{id}/alerts" {
		s.routeIncidentPages()
	}
}
