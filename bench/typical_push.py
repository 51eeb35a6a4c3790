#!/usr/bin/env python3
"""Benchmark 3: a typical push, one branch with 3 new commits, one receiver on loopback.

The same stdin line (`main~3 main refs/heads/main`) is given to each hook in turn, as git
gives it after the push, on a bare repository of 1,000 commits and 350 refs:
  git-webhooks:  GIT_DIR=BARE post-receive                  < line   (a link to the binary)
  baseline:      GIT_DIR=BARE sh shared/bench/baseline-hook.sh < line
Target: the whole hook run of git-webhooks at most 1/10 of the baseline's.

Usage: bench/typical_push.py [--quick] [--runs N]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402
import mirror_push  # noqa: E402


def typical_repo():
    """A bare repository of 1,000 commits and 350 refs, and the line of a 3-commit push."""
    bare = b.mirror_into(mirror_push.source_repo(), "typical")
    old = b.git("rev-parse", "refs/heads/main~3", git_dir=bare).strip()
    new = b.git("rev-parse", "refs/heads/main", git_dir=bare).strip()
    return bare, f"{old} {new} refs/heads/main\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="10 runs of each hook")
    p.add_argument("--runs", type=int)
    args = p.parse_args()
    runs = args.runs or (10 if args.quick else 40)

    gwh = b.binary()
    b.say(f"== typical push: one branch, 3 new commits, one receiver (BENCH_DIR={b.BENCH_DIR})")
    bare, line = typical_repo()
    event = json.loads(b.run([gwh, "replay", "--dry-run", "--repo", bare], stdin=line).stdout)
    assert event["total_commits_count"] == 3, event["total_commits_count"]

    with b.Receiver() as rx:
        b.write_config(bare, [rx.url("/hook")])
        ours = b.as_hook(gwh)
        baseline = ["sh", b.BASELINE_HOOK]
        env = dict(b.CLEAN_ENV, GIT_DIR=bare)
        rx.reset()
        timed = b.alternate(
            runs,
            [("ours", lambda: b.run(ours, stdin=line, env=env)), ("baseline", lambda: b.run(baseline, stdin=line, env=env))],
            before=lambda label: b.reset_spool(bare),
        )
        stats = rx.stats()
    assert stats["requests"] == 2 * runs, stats
    t_ours = b.median([r.wall for r in timed["ours"]])
    t_base = b.median([r.wall for r in timed["baseline"]])
    ratio = t_ours / t_base
    b.say(f"  all {2 * runs} events arrived")
    b.say(f"  time git-webhooks/baseline = {ratio:.3f}x = 1/{1 / ratio:.1f}  "
          f"({b.ms(t_ours)} vs {b.ms(t_base)}, median of {runs})  target <= 1/10: {b.verdict(ratio, 0.1)}")


if __name__ == "__main__":
    main()
