-- soak_api.lua: wrk script for bench/soak.sh: a paced mix of REST calls
-- beside the SIP churn. Run with as many connections as threads (-t N
-- -c N), so that each thread's state follows its one connection.
-- Environment: CHORUS_TOKEN, SOAK_CONFS (comma-separated conference ids
-- to read), SOAK_DELAY_MS (pause before each request, per connection).
-- Cycle: GET /conferences, GET /conferences/{id},
-- GET /conferencecalls?conference_id={id}, GET /calls, POST /conferences,
-- then DELETE of the conference that POST made.
local token = os.getenv("CHORUS_TOKEN") or ""
local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "20")
local ids = {}
for id in string.gmatch(os.getenv("SOAK_CONFS") or "", "[^,]+") do
	ids[#ids + 1] = id
end
local headers = {
	["Authorization"] = "Bearer " .. token,
	["Content-Type"] = "application/json",
}
local body = '{"type":"conference","name":"soak-api","timeout":3600}'
local threads = {}
local n, kind, made = 0, nil, nil
-- per thread, read by done()
bad, posts, deletes = 0, 0, 0

function setup(thread)
	threads[#threads + 1] = thread
end

function delay()
	return pause
end

function request()
	n = n + 1
	if made then
		local id = made
		made, kind = nil, "delete"
		return wrk.format("DELETE", "/v1.0/conferences/" .. id, headers)
	end
	local id = ids[(n % #ids) + 1]
	local k = n % 5
	kind = k == 0 and "post" or "get"
	if k == 0 then
		return wrk.format("POST", "/v1.0/conferences", headers, body)
	elseif k == 1 then
		return wrk.format("GET", "/v1.0/conferences?page_size=20", headers)
	elseif k == 2 then
		return wrk.format("GET", "/v1.0/conferences/" .. id, headers)
	elseif k == 3 then
		return wrk.format("GET", "/v1.0/conferencecalls?conference_id=" ..
			id .. "&page_size=20", headers)
	end
	return wrk.format("GET", "/v1.0/calls?page_size=10", headers)
end

function response(status, hdrs, b)
	if status >= 300 then
		bad = bad + 1
	end
	if kind == "post" and status < 300 then
		posts = posts + 1
		made = string.match(b, '"id"%s*:%s*"([%x%-]+)"')
	elseif kind == "delete" and status < 300 then
		deletes = deletes + 1
	end
end

function done(summary, latency, requests)
	local b, p, d = 0, 0, 0
	for _, t in ipairs(threads) do
		b = b + t:get("bad")
		p = p + t:get("posts")
		d = d + t:get("deletes")
	end
	local e = summary.errors
	local secs = summary.duration / 1e6
	io.write(string.format(
		"api: %d requests in %.0f s (%.1f/s), %d not 2xx, socket errors " ..
		"%d (connect %d, read %d, write %d, timeout %d); %d POST and %d " ..
		"DELETE of conferences; latency p50 %.1f ms, p99 %.1f ms, max " ..
		"%.1f ms\n",
		summary.requests, secs, summary.requests / secs, b,
		e.connect + e.read + e.write + e.timeout, e.connect, e.read,
		e.write, e.timeout, p, d, latency:percentile(50) / 1000,
		latency:percentile(99) / 1000, latency.max / 1000))
	io.write(string.format("api-short: API %.1f req/s, %d errors\n",
		summary.requests / secs, b + e.connect + e.read + e.write + e.timeout))
end
