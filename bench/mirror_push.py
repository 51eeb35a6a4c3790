#!/usr/bin/env python3
"""Benchmark 2: a mirror push of 1,000 commits, 300 tags and 50 branches into an empty
bare repository, one receiver on loopback.

The same 350 post-receive stdin lines are given to each hook in turn, as git gives them,
on a bare repository that already holds the pushed objects and refs (as it does when git
runs post-receive):
  git-webhooks:  GIT_DIR=BARE post-receive                  < lines   (a link to the binary)
  baseline:      GIT_DIR=BARE sh shared/bench/baseline-hook.sh < lines
The hook takes the state before the push from the refs the push did not touch (here:
none), so each run is exactly the hook's run after a mirror push into an empty
repository. The receiver counts the events of each run: all 350 must arrive.
Target: git-webhooks at most 1/50 of the baseline's time.

Usage: bench/mirror_push.py [--quick] [--runs N]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402

BRANCHES = 49  # besides main
BRANCH_COMMITS = 3
TAGS = 300
COMMITS = 1000


def source_repo():
    main_commits = COMMITS - BRANCHES * BRANCH_COMMITS
    branches = [(f"feature/topic-{i:02d}", 1 + (i * 37) % main_commits, BRANCH_COMMITS) for i in range(BRANCHES)]
    tags = [(f"v{i // 100}.{i % 100}.0", 1 + (i * 7919) % main_commits, i % 2 == 0) for i in range(TAGS)]
    return b.generated_repo("mirror-source", main_commits, branches, tags)


def target_repo():
    """The bare repository after the mirror push, and the push's stdin lines."""
    target = b.mirror_into(source_repo(), "mirror-target")
    lines = b.creation_lines(target)
    return target, lines


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one run of each hook")
    p.add_argument("--runs", type=int)
    args = p.parse_args()
    runs = args.runs or (1 if args.quick else 3)

    gwh = b.binary()
    b.say(f"== mirror push: {COMMITS} commits, {TAGS} tags, {BRANCHES + 1} branches (BENCH_DIR={b.BENCH_DIR})")
    bare, lines = target_repo()
    refs = lines.count("\n")
    branches = lines.count(" refs/heads/")
    assert refs == TAGS + BRANCHES + 1, refs
    commits = int(b.git("rev-list", "--count", "--all", git_dir=bare))
    b.say(f"  {refs} refs ({branches} branches), {commits} commits")

    with b.Receiver() as rx:
        b.write_config(bare, [rx.url("/hook")])
        ours = b.as_hook(gwh)
        baseline = ["sh", b.BASELINE_HOOK]
        env = dict(b.CLEAN_ENV, GIT_DIR=bare)
        counts = {}

        def before(label):
            b.reset_spool(bare)
            rx.reset()

        def after(label, result):
            stats = rx.stats()
            counts.setdefault(label, []).append(stats["requests"])
            if stats["requests"] != refs:
                b.say(f"  {label}: only {stats['requests']} of {refs} events arrived")
            return result

        timed = b.alternate(
            runs,
            [
                ("ours", lambda: after("ours", b.run(ours, stdin=lines, env=env))),
                ("baseline", lambda: after("baseline", b.run(baseline, stdin=lines, env=env))),
            ],
            before=before,
        )
    t_ours = b.median([r.wall for r in timed["ours"]])
    t_base = b.median([r.wall for r in timed["baseline"]])
    ratio = t_ours / t_base
    b.say(f"  events received per run: git-webhooks {counts['ours']}, baseline {counts['baseline']} (of {refs})")
    b.say(f"  time git-webhooks/baseline = {ratio:.3f}x = 1/{1 / ratio:.0f}  "
          f"({b.ms(t_ours)} vs {b.ms(t_base)}, median of {runs})  target <= 1/50: {b.verdict(ratio, 0.02)}")
    if any(c != refs for c in counts["ours"]):
        b.say("  MISSES target: git-webhooks did not deliver every event")


if __name__ == "__main__":
    main()
