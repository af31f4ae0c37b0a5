"""
test_openapi.py: GET /v1.0/openapi.json from a real chorusd, through curl.

- Without a token: 200, Content-Type application/json, a Cache-Control
  header, a body that is JSON, "openapi": "3.1.0", and the same document
  as src/api/openapi.json (the one compiled in).
- The served document is valid OpenAPI 3.1 by a validator this project did
  not write: @apidevtools/swagger-parser (npm; scripts/deps.sh test installs
  it into $CHORUS_NPM_TOOLS, default ~/.cache/chorus-test-npm). The test
  FAILS when it is missing. The validator must also reject two broken
  copies (an optional path parameter, an answer that is not a Response
  object), so a validator that passes anything cannot pass this test.
- Every documented method and path is served: each one, with a fresh UUID
  for {id}, answers something other than 405 or 404 "no such route".
- Live fields, with a real SIP phone (baresip) in a conference: the
  participant's answer with its live `stats` (made by the SIP layer, which
  the unit test cannot reach) and `quality`, the call, and every webhook
  event of the join and the kick, against the document's schemas: a field
  sent that the schema lacks fails, and so does a required one not sent.
"""
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import SRC, ChorusTestCase, json, main  # noqa: E402
from sip_harness import SipTestCase, wait_until  # noqa: E402

NPM_TOOLS = os.environ.get("CHORUS_NPM_TOOLS") or os.path.join(
    os.path.expanduser("~"), ".cache", "chorus-test-npm")
VALIDATE_JS = """
const SwaggerParser = require('@apidevtools/swagger-parser');
SwaggerParser.validate(process.argv[1])
  .then(api => { console.log('valid OpenAPI ' + api.openapi); })
  .catch(err => { console.error(err.message); process.exit(1); });
"""


def curl_full(url, headers=(), method="GET", timeout=15):
    """curl -s -i: (status, {lower-case header: value}, body text)."""
    args = ["curl", "-s", "-S", "-i", "--max-time", str(timeout),
            "-X", method]
    for h in headers:
        args += ["-H", h]
    r = subprocess.run(args + [url], capture_output=True, timeout=timeout + 5)
    if r.returncode != 0:
        raise AssertionError("curl failed (%d): %s" % (r.returncode,
                                                       r.stderr))
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body.decode("utf-8", "replace")


class OpenapiTest(ChorusTestCase):

    def validate(self, path):
        """Runs swagger-parser on the document at path: (ok, output)."""
        module = os.path.join(NPM_TOOLS, "node_modules", "@apidevtools",
                              "swagger-parser")
        self.assertTrue(
            os.path.isdir(module),
            "the OpenAPI validator is missing: %s (scripts/deps.sh test "
            "installs it)" % module)
        env = dict(os.environ, NODE_PATH=os.path.join(NPM_TOOLS,
                                                      "node_modules"))
        r = subprocess.run(["node", "-e", VALIDATE_JS, path],
                           capture_output=True, text=True, env=env,
                           timeout=60)
        return r.returncode == 0, (r.stdout + r.stderr).strip()

    def test_served_and_valid(self):
        d = self.start_daemon()
        status, hdrs, body = curl_full(d.url + "/openapi.json")
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(hdrs.get("content-type"), "application/json",
                         hdrs)
        self.assertIn("max-age", hdrs.get("cache-control", ""), hdrs)
        doc = json.loads(body)
        self.assertEqual(doc["openapi"], "3.1.0")
        with open(os.path.join(SRC, "src", "api", "openapi.json")) as f:
            self.assertEqual(doc, json.load(f),
                             "served document differs from "
                             "src/api/openapi.json")

        served = os.path.join(self.workdir, "openapi.json")
        with open(served, "w") as f:
            f.write(body)
        ok, out = self.validate(served)
        self.assertTrue(ok, "the validator rejects the document: " + out)

        # the validator can fail: a path parameter that is not required,
        # an answer that is not a Response object
        def path_param_optional(o):
            o["paths"]["/conferences/{id}"]["parameters"][0][
                "required"] = False

        def response_not_object(o):
            o["paths"]["/conferences"]["get"]["responses"]["200"] = "x"

        for breaks in (path_param_optional, response_not_object):
            broken = json.loads(body)
            breaks(broken)
            bad = os.path.join(self.workdir, breaks.__name__ + ".json")
            with open(bad, "w") as f:
                json.dump(broken, f)
            ok, out = self.validate(bad)
            self.assertFalse(ok, "the validator takes a document with %s: "
                             "%s" % (breaks.__name__, out))

    def test_documented_routes_are_served(self):
        d = self.start_daemon()
        _, _, body = curl_full(d.url + "/openapi.json")
        doc = json.loads(body)
        auth = ["Authorization: Bearer " + d.token]
        seen = 0
        root = d.url[:-len("/v1.0")]
        for path, item in doc["paths"].items():
            # a path may name its own server (/metrics is at the root)
            base = (root + item["servers"][0]["url"].rstrip("/")
                    if "servers" in item else d.url)
            for method in item:
                if method in ("parameters", "summary", "description",
                              "servers"):
                    continue
                url = base + path.replace("{id}", str(uuid.uuid4()))
                status, _, text = curl_full(url, auth, method.upper())
                msg = ""
                try:
                    msg = json.loads(text)["error"]["message"]
                except (ValueError, KeyError, TypeError):
                    pass
                self.assertNotEqual(status, 405, "%s %s: %s" %
                                    (method, path, text[:200]))
                self.assertFalse(
                    status == 404 and msg.startswith("no such route"),
                    "%s %s is documented but not served: %s" %
                    (method, path, text[:200]))
                seen += 1
        self.assertGreater(seen, 30)


def schema_diff(doc, schema, value, where):
    """The differences between value and schema (following $ref, oneOf /
    allOf branches with properties, array items): a key sent that the
    schema lacks (unless additionalProperties is true), a required key not
    sent."""
    def deref(s):
        while isinstance(s, dict) and "$ref" in s:
            s = doc["components"]["schemas"][s["$ref"].rsplit("/", 1)[1]]
        return s
    s = deref(schema)
    out = []
    if isinstance(value, list):
        for i, v in enumerate(value):
            if "items" in s:
                out += schema_diff(doc, s["items"], v, "%s[%d]" % (where, i))
        return out
    if not isinstance(value, dict):
        return out
    if "properties" not in s:
        s = next((deref(b) for k in ("oneOf", "allOf") for b in s.get(k, [])
                  if "properties" in deref(b)), s)
    if "properties" not in s:
        ap = s.get("additionalProperties")
        if isinstance(ap, dict):
            for k, v in value.items():
                out += schema_diff(doc, ap, v, where + "." + k)
        return out
    for k, v in value.items():
        if k in s["properties"]:
            out += schema_diff(doc, s["properties"][k], v, where + "." + k)
        elif s.get("additionalProperties") is not True:
            out.append("%s.%s is sent but not in the schema" % (where, k))
    for k in s.get("required", []):
        if k not in value:
            out.append("%s.%s is required but not sent" % (where, k))
    return out


class LiveFieldsTest(SipTestCase):

    def test_live_resources_and_events_match_schemas(self):
        d = self.start_sip_daemon()
        _, _, body = curl_full(d.url + "/openapi.json")
        doc = json.loads(body)
        cid = self.api.create_conference(type="conference", name="f")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        (p,) = self.join(cid, self.phone("alice", 440))

        def live():
            cc = self.api.get("/conferencecalls/" + p["id"]).json
            return cc if cc.get("stats") and cc.get("quality") else None
        cc = wait_until(live, 10)
        self.assertIsNotNone(cc, "no live stats and quality: %r" % (
            self.api.get("/conferencecalls/" + p["id"]).json,))
        diffs = schema_diff(doc, {"$ref": "#/components/schemas/"
                                  "ConferenceCall"}, cc, "ConferenceCall")
        # the live stats must carry every ParticipantStats field
        diffs += schema_diff(doc, {"$ref": "#/components/schemas/"
                                   "ParticipantStats"}, cc["stats"],
                             "ParticipantStats")
        call = self.api.get("/calls/" + cc["reference_id"]).json
        diffs += schema_diff(doc, {"$ref": "#/components/schemas/Call"},
                             call, "Call")
        r = self.api.delete("/conferencecalls/" + p["id"])
        self.assertEqual(r.status, 200, r)
        self.assertTrue(wait_until(
            lambda: self.api.get("/conferencecalls/" + p["id"])
            .json["status"] == "leaved", 10))
        events = wait_until(lambda: [
            e for e in self.rcv.events()
            if e.get("event") == "conference.member.left"] and
            self.rcv.events(), 10)
        self.assertTrue(events, "no conference.member.left webhook")
        kinds = set()
        for e in events:
            kinds.add(e["event"])
            diffs += schema_diff(doc, {"$ref": "#/components/schemas/Event"},
                                 e, "Event(%s)" % e.get("event"))
        for k in ("conference.created", "conference.member.joined",
                  "conference.member.left", "call.created"):
            self.assertIn(k, kinds)
        self.assertEqual(diffs, [], "\n".join(diffs))


if __name__ == "__main__":
    main()
