#!/usr/bin/env python3
"""Benchmark 7: hook time against push size, drawn as a chart (docs/performance.png).

Two series of pushes into the mirror benchmark's repository (1,000 commits, 350 refs),
each given to every hook in turn as git gives it after the push (git-webhooks through a
link named post-receive), with one receiver on loopback:
  commits:  one branch update bringing N commits (N = 1 … 1,000), for git-webhooks
            (updates walked in-process), git-webhooks with GIT_WEBHOOKS_WALK=git (every
            range walked by `git rev-list`), the hand-written hook, and `git rev-list
            --count` of the same range on its own;
  refs:     N tags created at once (N = 1 … 300), for git-webhooks and the hand-written
            hook.
It prints each median and writes the chart with matplotlib (pip install matplotlib).

Usage: bench/chart.py [--quick] [--out PATH]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402
import mirror_push  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(runs, commands, before=None):
    """Median wall time in milliseconds of each command, alternating."""
    timed = b.alternate(runs, commands, before=before)
    return {label: b.median([r.wall for r in results]) * 1000 for label, results in timed.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3 runs of each point instead of 9")
    p.add_argument("--out", default=os.path.join(ROOT, "docs", "performance.png"))
    args = p.parse_args()
    runs = 3 if args.quick else 9

    gwh = b.binary()
    b.say(f"== hook time against push size (BENCH_DIR={b.BENCH_DIR})")
    bare = b.mirror_into(mirror_push.source_repo(), "chart")
    hook_env = dict(b.CLEAN_ENV, GIT_DIR=bare)
    walk_git = dict(hook_env, GIT_WEBHOOKS_WALK="git")
    ours = b.as_hook(gwh)
    commits_series = {"git-webhooks": [], "git-webhooks, git rev-list walks": [], "hand-written hook": [],
                      "git rev-list --count": []}
    sizes = [1, 3, 10, 30, 100, 300, 1000]
    with b.Receiver() as rx:
        b.write_config(bare, [rx.url("/hook")])
        main_id = b.git("rev-parse", "refs/heads/main", git_dir=bare).strip()
        depth = int(b.git("rev-list", "--count", "--first-parent", "refs/heads/main", git_dir=bare))
        for n in [s for s in sizes if s < depth]:
            old = b.git("rev-parse", f"refs/heads/main~{n}", git_dir=bare).strip()
            line = f"{old} {main_id} refs/heads/main\n"
            medians = measure(runs, [
                ("git-webhooks", lambda: b.run(ours, stdin=line, env=hook_env)),
                ("git-webhooks, git rev-list walks", lambda: b.run(ours, stdin=line, env=walk_git)),
                ("hand-written hook", lambda: b.run(["sh", b.BASELINE_HOOK], stdin=line, env=hook_env)),
                ("git rev-list --count", lambda: b.run(["git", "--git-dir", bare, "rev-list", "--count",
                                                        f"{old}..{main_id}"])),
            ], before=lambda label: b.reset_spool(bare))
            for label, value in medians.items():
                commits_series[label].append((n, value))
            b.say(f"  {n:>5} commits: " + ", ".join(f"{k} {v:.1f} ms" for k, v in medians.items()))

        refs_series = {"git-webhooks": [], "hand-written hook": []}
        tag_lines = [line for line in b.creation_lines(bare).splitlines(True) if " refs/tags/" in line]
        for n in [1, 10, 30, 100, 300]:
            lines = "".join(tag_lines[:n])
            medians = measure(max(1, runs // 3), [
                ("git-webhooks", lambda: b.run(ours, stdin=lines, env=hook_env)),
                ("hand-written hook", lambda: b.run(["sh", b.BASELINE_HOOK], stdin=lines, env=hook_env)),
            ], before=lambda label: b.reset_spool(bare))
            for label, value in medians.items():
                refs_series[label].append((n, value))
            b.say(f"  {n:>5} refs:    " + ", ".join(f"{k} {v:.1f} ms" for k, v in medians.items()))
        assert rx.stats()["requests"] > 0

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        b.say("  matplotlib is not installed (pip install matplotlib): no chart drawn")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, points in commits_series.items():
        left.plot([n for n, _ in points], [v for _, v in points], marker="o", label=label)
    left.set(xscale="log", yscale="log", xlabel="commits in the update", ylabel="hook run (ms)",
             title="One branch update, one receiver")
    for label, points in refs_series.items():
        right.plot([n for n, _ in points], [v for _, v in points], marker="o", label=label)
    right.set(xscale="log", yscale="log", xlabel="tags created in one push", ylabel="hook run (ms)",
              title="Many refs, one receiver")
    for axes in (left, right):
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    b.say(f"  chart written to {args.out}")


if __name__ == "__main__":
    main()
