package handlers

import (
	"net/http/pprof"

	"github.com/gin-gonic/gin"
)

// Importing net/http/pprof registers its handlers on http.DefaultServeMux as a side effect; the
// desk never serves that mux (ListenAndServe's handler is the gin engine), so the profiles are
// reachable only through the route below, behind admin access.

// profile serves GET /debug/pprof/*profile: the index, the named runtime profiles (heap,
// goroutine, allocs, block, mutex, threadcreate), and the CPU profile and execution trace, which
// record for ?seconds=N (default 30).
func (s *Server) profile(c *gin.Context) {
	switch c.Param("profile") {
	case "/cmdline":
		pprof.Cmdline(c.Writer, c.Request)
	case "/profile":
		pprof.Profile(c.Writer, c.Request)
	case "/symbol":
		pprof.Symbol(c.Writer, c.Request)
	case "/trace":
		pprof.Trace(c.Writer, c.Request)
	default:
		pprof.Index(c.Writer, c.Request) // reads the profile's name from the path after /debug/pprof/
	}
}
