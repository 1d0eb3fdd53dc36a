-- GET BENCH_PATH with "{id}" replaced by a random incident id in 1..BENCH_MAX_ID: a
-- single incident, from anywhere in the table (not one hot row).
local common = require("common")
common.authenticate()

local template = os.getenv("BENCH_PATH") or wrk.path
local max_id = tonumber(os.getenv("BENCH_MAX_ID"))

function init(args)
  math.randomseed(1000 + (thread_number or 0))
end

function request()
  local path = template:gsub("{id}", tostring(math.random(max_id)))
  return wrk.format("GET", path)
end
