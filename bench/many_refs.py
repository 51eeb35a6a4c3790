#!/usr/bin/env python3
"""Benchmark 5: 10,000 branches or tags pushed at once, one receiver on loopback.

Every event must be delivered within the delivery budget (default 15 s, counted from the
hook's start) or kept in the outbox for `git-webhooks redeliver`: none may be lost. The
benchmark replays the push's stdin into `git-webhooks replay --repo BARE`, then counts
what the receiver got and what `redeliver --dry-run` lists as kept, then runs
`redeliver` and checks that every event arrived exactly once (by delivery id).

Three pushes, each into an empty repository (a mirror push):
  tags:      N tags (half annotated) on a 1,000-commit history
  branches:  N branches, each with one commit of its own on a 1,000-commit history
  slow:      the tags push to a receiver that takes 5 ms per request (10 ms with
             --quick), so that the budget runs out and the rest must be kept
With --baseline the baseline hook is also timed on the tags push, for scale (it runs jq
and curl once per ref: several minutes for 10,000 refs).

Usage: bench/many_refs.py [--quick] [--refs N] [--only tags|branches] [--baseline]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

HISTORY = 1000


def tags_repo(n):
    tags = [(f"release/r{i:05d}", 1 + (i * 7919) % HISTORY, i % 2 == 0) for i in range(n)]
    source = b.generated_repo(f"tags-{n}-source", HISTORY, tags=tags)
    return b.mirror_into(source, f"tags-{n}")


def branches_repo(n):
    branches = [(f"topic/b{i:05d}", 1 + (i * 7919) % HISTORY, 1) for i in range(n)]
    source = b.generated_repo(f"branches-{n}-source", HISTORY, branches=branches)
    return b.mirror_into(source, f"branches-{n}")


def pending(gwh, bare):
    out = b.run([gwh, "redeliver", "--dry-run", "--repo", bare]).stdout.decode()
    return sum(1 for line in out.splitlines() if line.strip())


def scenario(label, gwh, bare, rx, baseline, path="/hook", kind=None):
    lines = b.creation_lines(bare)
    n = lines.count("\n")
    b.write_config(bare, [rx.url(path)])
    b.reset_spool(bare)
    rx.reset()
    hook = b.run([gwh, "replay", "--repo", bare], stdin=lines, check=False)
    stats = rx.stats()
    delivered = stats["ids"]
    kept = pending(gwh, bare)
    b.say(f"{label}: {n} refs pushed at once (main and {n - 1} {kind or label})")
    b.say(f"  hook run {hook.wall:.1f} s (exit {hook.status}); delivered {delivered}, kept for redelivery {kept}, "
          f"not accounted for {max(0, n - delivered - kept)}")
    if delivered + kept > n:
        b.say(f"  {delivered + kept - n} delivery(ies) reached the receiver while the budget cut the request short, "
              "so they were also kept: redelivery sends them again with the same delivery id")
    summary = [line for line in hook.stderr.decode(errors="replace").splitlines() if "h0" in line]
    for line in summary[-1:]:
        b.say(f"  the pusher saw: {line.strip()[:200]}")
    redeliver = b.run([gwh, "redeliver", "--repo", bare], check=False)
    stats = rx.stats()
    left = pending(gwh, bare)
    b.say(f"  redeliver {redeliver.wall:.1f} s: {stats['ids']} distinct deliveries received in all, "
          f"{stats['duplicates']} received twice (same id), {left} still pending")
    ok = delivered + kept >= n and stats["ids"] == n and left == 0
    b.say(f"  every event delivered or kept, and every one received in the end: {'yes' if ok else 'NO'}")
    if baseline:
        b.reset_spool(bare)
        rx.reset()
        env = dict(b.CLEAN_ENV, GIT_DIR=bare)
        base = b.run(["sh", b.BASELINE_HOOK], stdin=lines, env=env, check=False)
        got = rx.stats()["requests"]
        b.say(f"  baseline hook: {base.wall:.1f} s for {got} of {n} events  "
              f"(git-webhooks hook run / baseline = {hook.wall / base.wall:.3f}x)")
    b.reset_spool(bare)
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2,000 refs")
    p.add_argument("--refs", type=int)
    p.add_argument("--only", choices=["tags", "branches", "slow"])
    p.add_argument("--baseline", action="store_true", help="also time the baseline hook on the tags push")
    args = p.parse_args()
    n = args.refs or (2_000 if args.quick else 10_000)
    baseline = args.baseline

    gwh = b.binary()
    b.say(f"== {n} refs pushed at once, default 15 s budget (BENCH_DIR={b.BENCH_DIR})")
    with b.Receiver() as rx:
        if args.only in (None, "tags"):
            scenario("tags", gwh, tags_repo(n), rx, baseline)
        if args.only in (None, "branches"):
            scenario("branches", gwh, branches_repo(n), rx, False)
        if args.only in (None, "slow"):
            delay = 0.01 if args.quick else 0.005
            scenario(f"slow receiver ({delay * 1000:.0f} ms a request)", gwh, tags_repo(n), rx, False,
                     path=f"/slow/{delay}/hook", kind="tags")


if __name__ == "__main__":
    main()
