-- POST /api/v1/incidents: report a new incident (as a reporter), with varied bodies.
local common = require("common")
common.authenticate()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local priorities = {"low", "medium", "medium", "high", "critical"}
local categories = {"software", "hardware", "network", "access", "other"}
local counter = 0

function request()
  counter = counter + 1
  local body = string.format(
    '{"title": "Benchmark %d: VPN drops every %d minutes", ' ..
    '"description": "Reported by wrk thread %d. It started after the update.", ' ..
    '"priority": "%s", "category": "%s"}',
    counter, counter % 60, thread_number or 0,
    priorities[counter % #priorities + 1], categories[counter % #categories + 1])
  return wrk.format(nil, "/api/v1/incidents", nil, body)
end
