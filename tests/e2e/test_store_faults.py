"""
test_store_faults.py: a store chorusd cannot trust is refused at start,
and /health tells when the store stops taking writes. As root, so the
faults are made for real: an existing zero-byte chorus.db exits 2 with
one line naming --init (and starts with --init); a chorus.db with a
corrupted page in the middle exits 2 (PRAGMA quick_check); a chorus.db
that cannot be written (an immutable file, chattr +i; a file system
remounted read-only) exits 2; a disk that fills up while chorusd runs
makes writes fail (500) and /health answer 503 with the reason, and both
recover once space is free again.
"""
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (ChorusTestCase, main, run_cli,  # noqa: E402
                            wait_until)


def serve_once(data_dir, *args):
    """Runs `chorusd serve` that must fail at start; returns it."""
    return run_cli(["serve", "--http", "127.0.0.1:0", "--sip",
                    "127.0.0.1:0", "--data-dir", data_dir] + list(args),
                   timeout=15)


class StoreFaultsTest(ChorusTestCase):

    def assertRefused(self, r, data_dir, words):
        """Exit 2, nothing served, one `chorusd:` line naming data_dir and
        containing words."""
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertNotIn("API:", r.stdout)
        lines = [ln for ln in r.stderr.splitlines()
                 if ln.startswith("chorusd:")]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn(data_dir, lines[0])
        self.assertIn(words, lines[0])
        return lines[0]

    def mount_tmpfs(self, size="4m"):
        """A tmpfs of its own under the workdir, unmounted after the
        test."""
        mnt = os.path.join(self.workdir, "mnt")
        os.makedirs(mnt, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size,
                            "tmpfs", mnt], capture_output=True, text=True)
        if r.returncode != 0:
            self.fail("this test needs root and mount(8) to make a real "
                      "store fault: %s" % r.stderr)
        self.addCleanup(subprocess.run, ["umount", "-l", mnt])
        return mnt

    def test_zero_byte_db_needs_init(self):
        dd = os.path.join(self.workdir, "data")
        os.makedirs(dd)
        db = os.path.join(dd, "chorus.db")
        open(db, "wb").close()
        r = serve_once(dd)
        self.assertRefused(r, dd, "--init")
        self.assertEqual(os.path.getsize(db), 0, "refused, yet written")
        # `customer add` does not make a store in it either
        r = run_cli(["customer", "add", "x", "--data-dir", dd])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(os.path.getsize(db), 0)
        # --init: a new store, with its token
        d = self.start_daemon(data_dir=dd, args=["--init"])
        self.assertIsNotNone(d.token)
        self.assertEqual(d.client().get("/conferences").status, 200)
        self.assertEqual(d.stop(), 0)
        # and the next start needs no --init
        d2 = self.start_daemon(data_dir=dd)
        self.assertEqual(d2.client().get("/conferences").status, 200)

    def test_corrupt_page_refused(self):
        d = self.start_daemon()
        c = d.client()
        for i in range(150):
            c.create_conference(name="room %d %s" % (i, "x" * 200))
        self.assertEqual(d.stop(), 0)
        db = os.path.join(d.data_dir, "chorus.db")
        con = sqlite3.connect(db)
        con.execute("VACUUM")  # every page in use: none on the freelist
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        size = con.execute("PRAGMA page_size").fetchone()[0]
        self.assertEqual(con.execute("PRAGMA quick_check").fetchone()[0],
                         "ok")
        con.close()
        self.assertGreaterEqual(pages, 20)
        with open(db, "r+b") as f:
            f.seek((pages // 2) * size)  # the start of a middle page
            f.write(b"\xa5" * 64)
        r = serve_once(d.data_dir)
        self.assertRefused(r, d.data_dir, "corrupt")
        self.assertIn("quick_check", r.stderr)

    def test_not_a_database_refused(self):
        dd = os.path.join(self.workdir, "data")
        os.makedirs(dd)
        with open(os.path.join(dd, "chorus.db"), "wb") as f:
            f.write(b"these are not the pages you are looking for\n" * 200)
        self.assertRefused(serve_once(dd), dd, "not a database")

    def test_immutable_db_refused(self):
        if not shutil.which("chattr"):
            self.fail("chattr (e2fsprogs) is needed")
        d = self.start_daemon()
        self.assertEqual(d.stop(), 0)
        db = os.path.join(d.data_dir, "chorus.db")
        r = subprocess.run(["chattr", "+i", db], capture_output=True,
                           text=True)
        if r.returncode != 0:
            self.fail("chattr +i failed here: %s" % r.stderr)
        self.addCleanup(subprocess.run, ["chattr", "-i", db])
        # as root, chmod 444 would not stop a write; an immutable file does
        self.assertRefused(serve_once(d.data_dir), d.data_dir,
                           "cannot be written")

    def test_read_only_file_system_refused(self):
        mnt = self.mount_tmpfs()
        dd = os.path.join(mnt, "data")
        d = self.start_daemon(data_dir=dd)
        self.assertEqual(d.stop(), 0)
        r = subprocess.run(["mount", "-o", "remount,ro", mnt],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRefused(serve_once(dd), dd, "cannot be written")

    def test_disk_full_health_503(self):
        mnt = self.mount_tmpfs("4m")
        d = self.start_daemon(data_dir=os.path.join(mnt, "data"))
        c = d.client()
        self.assertEqual(c.get("/health", token=None).status, 200)
        filler = os.path.join(mnt, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        statuses = []
        for i in range(100):
            r = c.post("/conferences", {"type": "conference",
                                        "name": "n%d" % i + "y" * 1000})
            statuses.append(r.status)
            if r.status != 200:
                break
        self.assertEqual(statuses[-1], 500, statuses)
        r = c.get("/health", token=None)
        self.assertError(r, 503)
        self.assertIn("full", r.json["error"]["message"])
        # space again: the probe finds writes work, within a few seconds
        os.unlink(filler)
        ok = wait_until(lambda: c.get("/health", token=None).status == 200,
                        5, step=0.2)
        self.assertTrue(ok, c.get("/health", token=None))
        self.assertEqual(c.post("/conferences", {"type": "conference"})
                         .status, 200)


if __name__ == "__main__":
    main()
