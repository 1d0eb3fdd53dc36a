-- GET the URL given to wrk (path and query string), authenticated.
local common = require("common")
common.authenticate()
