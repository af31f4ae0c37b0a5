"""
test_room_rate.py: a conference's max_sample_rate, through the API and in
what real Opus participants hear.

API: a new conference mixes at most at 16000 Hz unless its create says
8000 or 48000; any other value (44100, a string, 2^32 + 16000, a float,
negative) is a 400 naming max_sample_rate that creates nothing; a PUT of
it is a 400 that changes nothing.

Audio: two baresip softphones with Opus (48 kHz) dial in; alice plays 600
Hz + 10 kHz together, bob 440 Hz. In a conference left at the default
(16 kHz: Opus decoded and encoded wideband) bob hears alice's 600 Hz but
not her 10 kHz, which lies above the room's band; in a conference created
with max_sample_rate 48000 (fullband) bob hears both. alice hears 440 Hz
in both. Levels by Goertzel on what each phone recorded.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import (SipTestCase, main, tone_wav,  # noqa: E402
                         tone_levels, fmt_levels)

SECONDS = 6
HIGH = 10000


class RoomRateTest(SipTestCase):

    def count(self):
        r = self.api.get("/conferences?page_size=100")
        self.assertEqual(r.status, 200, r)
        return len(r.json["result"])

    def test_api_field(self):
        self.start_sip_daemon()
        c = self.api.create_conference(name="voice")
        self.assertEqual(c["max_sample_rate"], 16000, c)
        for hz in (8000, 48000):
            r = self.api.post("/conferences", {"type": "conference",
                                               "max_sample_rate": hz})
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["max_sample_rate"], hz, r)
            got = self.api.conference(r.json["id"])
            self.assertEqual(got["max_sample_rate"], hz, got)
        n = self.count()
        for bad in (44100, 0, -16000, "16000", 16000.5, 2 ** 32 + 16000,
                    None, [16000]):
            r = self.api.post("/conferences", {"type": "conference",
                                               "max_sample_rate": bad})
            self.assertEqual(r.status, 400, (bad, r))
            self.assertEqual(r.json["error"].get("field"), "max_sample_rate", (bad, r))
        self.assertEqual(self.count(), n, "a refused create made something")
        r = self.api.put("/conferences/" + c["id"],
                         {"max_sample_rate": 48000})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.json["error"].get("field"), "max_sample_rate", r)
        self.assertEqual(self.api.conference(c["id"])["max_sample_rate"],
                         16000)

    def heard_in(self, body):
        """Runs alice and bob in a conference created with body; returns
        (alice's levels, bob's levels)."""
        r = self.api.post("/conferences", dict(body, type="conference"))
        self.assertEqual(r.status, 200, r)
        cid = r.json["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        wav = tone_wav(self.workdir, 600, 48000, freq2=HIGH)
        alice = self.phone_file("alice", wav, codec="opus")
        bob = self.phone("bob", 440, codec="opus")
        self.join(cid, alice, bob)
        t0 = time.monotonic()
        time.sleep(SECONDS)
        t1 = time.monotonic()
        for ph in (alice, bob):
            ph.hangup()
        for ph in (alice, bob):
            self.assertIsNotNone(ph.wait_event("CALL_CLOSED", 5), ph.name)
            ph.quit()
        out = []
        for ph in (alice, bob):
            rate, x = ph.heard()
            base = ph.established_at()
            lv = tone_levels(rate, x, t0 + 1.5 - base, t1 - 0.5 - base,
                             [440, 600, HIGH])
            sys.stderr.write("  %s (%s) heard %s\n" % (
                ph.name, body or "default", fmt_levels(lv)))
            out.append({f: m for f, (m, _lo) in lv.items()})
        self.phones.clear()
        return out

    def test_voice_room_drops_the_high_band(self):
        self.start_sip_daemon()
        a, b = self.heard_in({})
        self.assertGreater(a[440], -30, a)
        self.assertGreater(b[600], -30, b)
        # above the 16 kHz room's band: gone (at least 30 dB under 600 Hz)
        self.assertLess(b[HIGH], b[600] - 30, b)

    def test_music_room_keeps_it(self):
        self.start_sip_daemon()
        a, b = self.heard_in({"max_sample_rate": 48000})
        self.assertGreater(a[440], -30, a)
        self.assertGreater(b[600], -30, b)
        self.assertGreater(b[HIGH], -30, b)


if __name__ == "__main__":
    main()
