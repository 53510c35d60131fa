-- wrk script: each request carries the next prepared session (cookie + CSRF token), in turn.
-- Usage: wrk ... -s sessions.lua URL -- SESSIONS_FILE METHOD PATH
-- SESSIONS_FILE has one "cookie<TAB>csrf token" line per prepared browser session; an
-- empty file (or "-") sends no cookie. done() prints one JSON line for benchmarks/run.py.
local sessions = {}
local counter = 0
local method, path = "GET", "/"

function init(args)
  local file = args[1]
  method = args[2] or "GET"
  path = args[3] or "/"
  if file and file ~= "-" then
    for line in io.lines(file) do
      local cookie, token = line:match("^([^\t]*)\t?(.*)$")
      if cookie and cookie ~= "" then
        sessions[#sessions + 1] = {cookie = cookie, token = token}
      end
    end
  end
  -- Threads start at different places of the list, so they do not share a session.
  counter = math.random(0, math.max(#sessions - 1, 0))
end

function request()
  local headers = {}
  local body = nil
  if #sessions > 0 then
    counter = counter + 1
    local s = sessions[(counter % #sessions) + 1]
    headers["Cookie"] = s.cookie
    if method == "POST" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      body = "csrf_token=" .. s.token
    end
  elseif method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    body = ""
  end
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p95_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %f}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
