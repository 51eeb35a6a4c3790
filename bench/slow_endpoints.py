#!/usr/bin/env python3
"""Benchmark 4: endpoints that each answer after 0.5 s.

The typical push (one branch, 3 new commits) replayed into git-webhooks with ten hooks
whose receivers each answer after 0.5 s, against the same push with one such hook.
Endpoints are served in parallel, so ten should cost about what one costs.
Target: at most 1.5x.

For comparison the baseline hook (which calls curl once per endpoint, one after the
other) is timed on the same two configurations, once each.

Usage: bench/slow_endpoints.py [--quick] [--runs N] [--delay SECONDS]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402
import mirror_push  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2 runs of each, no baseline")
    p.add_argument("--runs", type=int)
    p.add_argument("--delay", type=float, default=0.5)
    args = p.parse_args()
    runs = args.runs or (2 if args.quick else 5)

    gwh = b.binary()
    b.say(f"== endpoints answering after {args.delay} s: 10 hooks vs 1 hook (BENCH_DIR={b.BENCH_DIR})")
    bare = b.mirror_into(mirror_push.source_repo(), "slow")
    old = b.git("rev-parse", "refs/heads/main~3", git_dir=bare).strip()
    new = b.git("rev-parse", "refs/heads/main", git_dir=bare).strip()
    line = f"{old} {new} refs/heads/main\n"
    ours = [gwh, "replay", "--repo", bare]
    baseline = ["sh", b.BASELINE_HOOK]
    env = dict(b.CLEAN_ENV, GIT_DIR=bare)

    with b.Receiver() as rx:
        configs = {
            "1 hook": [rx.url(f"/slow/{args.delay}/h0")],
            "10 hooks": [rx.url(f"/slow/{args.delay}/h{i}") for i in range(10)],
        }
        times = {}
        for _ in range(runs):
            for label, urls in configs.items():
                b.write_config(bare, urls)
                b.reset_spool(bare)
                rx.reset()
                result = b.run(ours, stdin=line)
                got = rx.stats()["requests"]
                if got != len(urls):
                    b.say(f"  {label}: only {got} of {len(urls)} events arrived")
                times.setdefault(label, []).append(result.wall)
        base_times = {}
        if not args.quick:
            for label, urls in configs.items():
                b.write_config(bare, urls)
                base_times[label] = b.run(baseline, stdin=line, env=env).wall
        b.reset_spool(bare)

    one = b.median(times["1 hook"])
    ten = b.median(times["10 hooks"])
    ratio = ten / one
    b.say(f"  git-webhooks 10 hooks / 1 hook = {ratio:.2f}x  ({b.ms(ten)} vs {b.ms(one)}, median of {runs})  "
          f"target <= 1.5x: {b.verdict(ratio, 1.5)}")
    if base_times:
        r = base_times["10 hooks"] / base_times["1 hook"]
        b.say(f"  baseline     10 hooks / 1 hook = {r:.2f}x  ({b.ms(base_times['10 hooks'])} vs "
              f"{b.ms(base_times['1 hook'])}, one run each; for comparison)")


if __name__ == "__main__":
    main()
