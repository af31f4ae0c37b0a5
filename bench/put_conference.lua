-- put_conference.lua: wrk script for bench/cluster_api.sh: every request is
-- PUT /v1.0/conferences/{id} renaming one of the conferences named in the
-- CHORUS_CONFS environment variable (ids separated by commas), picked at
-- random, with the token in CHORUS_TOKEN. Through a node that does not own
-- the conference it is forwarded to the owner over NATS. (Many rows, not
-- one: thousands of updates a second of one PostgreSQL row measure its
-- dead-tuple chain, not chorusd.)
local ids = {}
for id in string.gmatch(os.getenv("CHORUS_CONFS") or "", "[^,]+") do
	ids[#ids + 1] = id
end
local token = os.getenv("CHORUS_TOKEN") or ""
request = function()
	local id = ids[math.random(#ids)]
	return wrk.format("PUT", "/v1.0/conferences/" .. id,
		{["Content-Type"] = "application/json",
		 ["Authorization"] = "Bearer " .. token},
		'{"name":"renamed by wrk"}')
end
