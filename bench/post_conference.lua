-- post_conference.lua: wrk script for bench/api_load.sh: every request is
-- POST /v1.0/conferences with a small JSON body, authenticated with the
-- token in the CHORUS_TOKEN environment variable.
wrk.method = "POST"
wrk.body = '{"type":"conference","name":"bench","detail":"wrk load",' ..
	'"data":{"run":"api_load"},"timeout":3600}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("CHORUS_TOKEN") or "")
