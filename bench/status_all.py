"""`git-webhooks status --all ROOT` over many small bare repositories, each with an
outbox (a kept batch, a failed delivery, a backoff and a delivery log), against a
baseline measured in the same run: `find ROOT -name HEAD | wc -l`, which only finds
the repositories.

    python3 bench/status_all.py [--quick] [--repos N]    (default 10,000; --quick 1,000)
"""

import json
import os
import shutil
import subprocess
import sys

from benchlib import BENCH_DIR, CLEAN_ENV, alternate, binary, git, median, ms, quick_flag, run, say


def layout(root, n):
    """n bare repositories under root/team-K/, made by copying one small template, each
    with webhooks/ as git-webhooks leaves it after a failed push and a refusal."""
    marker = os.path.join(root, f".made-{n}")
    if os.path.exists(marker):
        return
    shutil.rmtree(root, ignore_errors=True)
    template = os.path.join(BENCH_DIR, "status-template.git")
    shutil.rmtree(template, ignore_errors=True)
    git("init", "-q", "--bare", "--template=", "-b", "main", template)
    delivery = {
        "id": "00000000-0000-4000-8000-000000000000",
        "hook": "ci",
        "event": "push",
        "ref": "refs/heads/main",
        "created": "2026-01-01T00:00:00.000Z",
        "trigger": "push",
        "attempts": 3,
        "body": json.dumps({"object_kind": "push", "commits": []}),
    }
    hook = os.path.join(template, "webhooks")
    for sub in ("outbox/h-ci", "failed/h-ci", "backoff"):
        os.makedirs(os.path.join(hook, sub))
    with open(os.path.join(hook, "outbox/h-ci/0001-batch.json"), "w") as f:
        json.dump([delivery, delivery], f)
    with open(os.path.join(hook, "failed/h-ci/0001-failed.json"), "w") as f:
        json.dump({"delivery": delivery, "status": 422, "error": "HTTP 422", "failed_at": delivery["created"]}, f)
    with open(os.path.join(hook, "backoff/h-ci.json"), "w") as f:
        json.dump({"hook": "ci", "failures": 1, "until_ms": 0, "error": "connection refused"}, f)
    record = {"time": "2026-01-01T00:00:00.000Z", "hook": "ci", "event": "push", "ref": "refs/heads/main",
              "delivery": delivery["id"], "attempt": 1, "error": "connection refused", "duration_ms": 1,
              "trigger": "push"}
    with open(os.path.join(hook, "deliveries.log"), "w") as f:
        for _ in range(50):
            f.write(json.dumps(record) + "\n")
    for i in range(n):
        shutil.copytree(template, os.path.join(root, f"team-{i % 100}", f"repo-{i}.git"), symlinks=True)
    open(marker, "w").close()


def main(argv):
    n = 1000 if quick_flag(argv) else 10_000
    if "--repos" in argv:
        n = int(argv[argv.index("--repos") + 1])
    bin_path = binary()
    root = os.path.join(BENCH_DIR, f"fleet-{n}")
    say(f"status --all over {n} bare repositories, each with a kept batch, a failed delivery, a backoff and a log")
    layout(root, n)

    def status():
        return run([bin_path, "status", "--all", root, "--quiet"], env=CLEAN_ENV, check=False)

    def baseline():
        return run(["sh", "-c", f"find '{root}' -name HEAD | wc -l >/dev/null"], env=CLEAN_ENV)

    # The same document the timed runs make, checked once.
    out = subprocess.run([bin_path, "status", "--all", root, "--json"], env=CLEAN_ENV, capture_output=True)
    doc = json.loads(out.stdout)
    assert doc["repositories_seen"] == n and doc["pending"] == 2 * n and doc["failed"] == n, doc["pending"]
    results = alternate(5, [("baseline", baseline), ("status", status)])
    base = median([r.wall for r in results["baseline"]])
    ours = median([r.wall for r in results["status"]])
    say(f"  baseline (find -name HEAD | wc -l): {ms(base)}")
    say(f"  git-webhooks status --all:          {ms(ours)}  ({ours / n * 1e6:.0f} µs per repository)")
    say(f"  ratio: {ours / base:.2f}x the baseline")


if __name__ == "__main__":
    main(sys.argv[1:])
