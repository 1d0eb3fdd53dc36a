-- An admin works the queue: POST /incidents/<id>/assign, and once that answered
-- "assigned", POST /incidents/<id>/resolve for the same incident. Each thread takes its
-- share of the active incidents listed in BENCH_POOL_FILE (one id a line) and assigns
-- them to technician BENCH_TECHNICIAN_ID. A resolve is chained on the assign's answer (the
-- response hook), never sent before it: both requests count, so the rate is per request.
local common = require("common")
common.authenticate()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local ids = {}
local next_index = 1
local to_resolve = {}
local technician = os.getenv("BENCH_TECHNICIAN_ID")
local thread_total = tonumber(os.getenv("BENCH_THREADS"))
local resolve_body = '{"resolution_notes": "Fixed by the benchmark: restarted the service."}'

function init(args)
  local n = 0
  for line in io.lines(os.getenv("BENCH_POOL_FILE")) do
    if n % thread_total == thread_number then
      table.insert(ids, line)
    end
    n = n + 1
  end
end

function request()
  local id = table.remove(to_resolve)
  if id then
    return wrk.format(nil, "/api/v1/incidents/" .. id .. "/resolve", nil, resolve_body)
  end
  id = ids[next_index]
  next_index = next_index % #ids + 1  -- the pool ran out: wraps (409s, counted)
  return wrk.format(nil, "/api/v1/incidents/" .. id .. "/assign", nil,
                    '{"technician_id": ' .. technician .. '}')
end

function response(status, headers, body)
  if status == 200 and body:match('"status":%s*"assigned"') then
    local id = body:match('"id":%s*(%d+)')
    if id then table.insert(to_resolve, id) end
  end
end
