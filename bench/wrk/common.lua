-- Shared by every scenario: credentials from the environment, and a done() hook that
-- prints the figures bench/run.py reads (one line, JSON, latencies in microseconds).
local common = {}

-- BENCH_TOKEN: an API token (Authorization: Bearer); BENCH_COOKIE: a portal session.
function common.authenticate()
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
  local cookie = os.getenv("BENCH_COOKIE")
  if cookie and cookie ~= "" then
    wrk.headers["Cookie"] = cookie
  end
end

-- Give every thread its number (setup runs in the main state, once per thread), so
-- scripts can split work between threads and seed their random numbers differently.
local threads = 0
function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "non_2xx": %d, "socket_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end

return common
