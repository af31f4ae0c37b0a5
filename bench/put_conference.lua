-- put_conference.lua: wrk script for bench/cluster_api.sh: every request is
-- PUT /v1.0/conferences/{id} (the path wrk is given) renaming it, with the
-- token in CHORUS_TOKEN. Through a node that does not own the conference it
-- is forwarded to the owner over NATS.
wrk.method = "PUT"
wrk.body = '{"name":"renamed by wrk"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("CHORUS_TOKEN") or "")
