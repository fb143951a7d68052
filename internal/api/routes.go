package api

import (
	"net/http"

	"github.com/faxgate/faxgate/internal/fax"
)

// routes lists every route of the API with the scope it requires. The
// OpenAPI document is generated from this table.
func (s *Server) routes() []route {
	return []route{
		{"GET", "/healthz", "", "Liveness: the process answers", s.handleHealthz},
		{"GET", "/readyz", "", "Readiness: the database answers", s.handleReadyz},
		{"GET", "/openapi.json", "", "This API's OpenAPI 3.1 document", s.handleOpenAPI},
		{"GET", "/metrics", fax.ScopeMetricsRead, "Prometheus metrics (also open on FAXGATE_METRICS_ADDR when set)", s.handleMetrics},

		{"POST", "/v1/faxes", fax.ScopeFaxSend, "Send a fax", s.handleFaxCreate},
		{"GET", "/v1/faxes", fax.ScopeFaxRead, "List faxes, newest first", s.handleFaxList},
		{"GET", "/v1/faxes/{id}", fax.ScopeFaxRead, "Get one fax", s.handleFaxGet},
		{"GET", "/v1/faxes/{id}/document", fax.ScopeFaxRead, "Download the fax's PDF", s.handleFaxDocument},
		{"GET", "/v1/faxes/{id}/events", fax.ScopeFaxRead, "The fax's timeline", s.handleFaxEvents},
		{"DELETE", "/v1/faxes/{id}", fax.ScopeFaxDelete, "Delete a final fax's record and document (an audit entry stays)", s.handleFaxDelete},
		{"DELETE", "/v1/faxes/{id}/document", fax.ScopeFaxDelete, "Delete the fax's document now; downloads then answer 410", s.handleFaxDocumentDelete},
		{"POST", "/v1/faxes/{id}/cancel", fax.ScopeFaxSend, "Cancel a fax that is not final", s.handleFaxCancel},

		{"POST", "/v1/webhook-endpoints", fax.ScopeWebhooksManage, "Create a webhook endpoint (the secret is shown once)", s.handleEndpointCreate},
		{"GET", "/v1/webhook-endpoints", fax.ScopeWebhooksManage, "List webhook endpoints", s.handleEndpointList},
		{"GET", "/v1/webhook-endpoints/{id}", fax.ScopeWebhooksManage, "Get a webhook endpoint", s.handleEndpointGet},
		{"PATCH", "/v1/webhook-endpoints/{id}", fax.ScopeWebhooksManage, "Change a webhook endpoint", s.handleEndpointUpdate},
		{"DELETE", "/v1/webhook-endpoints/{id}", fax.ScopeWebhooksManage, "Delete a webhook endpoint", s.handleEndpointDelete},
		{"POST", "/v1/webhook-endpoints/{id}/rotate-secret", fax.ScopeWebhooksManage, "Rotate an endpoint's secret; the old one keeps signing for the overlap", s.handleEndpointRotate},
		{"POST", "/v1/webhook-endpoints/{id}/test", fax.ScopeWebhooksManage, "Send a webhook.test event to this endpoint", s.handleEndpointTest},
		{"POST", "/v1/webhook-endpoints/{id}/retry-failed", fax.ScopeWebhooksManage, "Deliver again every failed delivery to this endpoint since a time", s.handleEndpointRetryFailed},
		{"GET", "/v1/callback-secret", fax.ScopeWebhooksManage, "The secret signing deliveries to faxes' callback_url", s.handleCallbackSecret},

		{"GET", "/v1/deliveries", fax.ScopeWebhooksManage, "List webhook deliveries with their attempts", s.handleDeliveryList},
		{"GET", "/v1/deliveries/{id}", fax.ScopeWebhooksManage, "Get a delivery with its attempts", s.handleDeliveryGet},
		{"POST", "/v1/deliveries/{id}/retry", fax.ScopeWebhooksManage, "Deliver again now", s.handleDeliveryRetry},

		{"POST", "/v1/sms", fax.ScopeFaxSend, "Send an SMS (through GoFax)", s.handleSMSCreate},
		{"GET", "/v1/sms/{id}", fax.ScopeFaxRead, "Get one SMS", s.handleSMSGet},

		{"POST", "/v1/simulator/inbound", fax.ScopeFaxSend, "The simulator receives a fax", s.handleSimulatorInbound},

		{"GET", "/v1/audit", fax.ScopeKeysManage, "The audit trail: who did what to which ids", s.handleAuditList},

		{"POST", "/v1/api-keys", fax.ScopeKeysManage, "Create an API key (the key is shown once)", s.handleAPIKeyCreate},
		{"GET", "/v1/api-keys", fax.ScopeKeysManage, "List API keys", s.handleAPIKeyList},
		{"DELETE", "/v1/api-keys/{id}", fax.ScopeKeysManage, "Revoke an API key", s.handleAPIKeyDelete},
	}
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.opts.Store.Ping(r.Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		return fax.Errorf(fax.ECodeUnavailable, "the database does not answer")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Metrics == nil {
		return fax.Errorf(fax.ECodeNotFound, "metrics are not served here")
	}
	s.opts.Metrics.ServeHTTP(w, r)
	return nil
}
