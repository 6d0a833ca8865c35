package handlers

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDocument is the OpenAPI 3.1 document of the JSON API. It is written by hand and kept
// true by tests: every API route of the table is in it, and every request and answer the
// handler tests make is validated against it (openapi_test.go).
//
//go:embed openapi/openapi.json
var openAPIDocument []byte

// openAPI serves GET /api/v1/openapi.json, without authentication (SPEC 4.2).
func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPIDocument)
}
