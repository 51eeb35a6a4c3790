#!/usr/bin/env python3
"""Benchmark 1: the events of a first push of a long linear history.

`git-webhooks replay --dry-run 000…0 HEAD refs/heads/main` against
`git rev-list --count HEAD` on the same repository, without and with a commit-graph file.
Targets: at most 1.2x the time and 1.2x the peak memory of the rev-list.

Usage: bench/first_push.py [--quick] [--commits N] [--runs N]
"""

import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as b  # noqa: E402


def with_commit_graph(source, name):
    """A copy of `source` (packs hard-linked) with a commit-graph file, made once."""
    path = os.path.join(b.BENCH_DIR, name + ".git")
    stamp = os.path.join(path, "bench-complete")
    if os.path.exists(stamp):
        return path
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(source, path, copy_function=os.link, ignore=shutil.ignore_patterns("webhooks", "bench-complete"))
    b.git("commit-graph", "write", "--reachable", git_dir=path)
    open(stamp, "w").close()
    return path


def measure(label, repo, runs, gwh, full_size=True):
    head = b.git("rev-parse", "refs/heads/main", git_dir=repo).strip()
    baseline = ["git", "--git-dir", repo, "rev-list", "--count", head]
    ours = [gwh, "replay", "--dry-run", "--repo", repo, b.ZERO, head, "refs/heads/main"]

    # Warm the page cache and check that both agree.
    count = int(b.run(baseline).stdout)
    event = json.loads(b.run(ours).stdout.splitlines()[0])
    assert event["total_commits_count"] == count, (event["total_commits_count"], count)
    assert len(event["commits"]) == min(20, count)

    timed = b.alternate(runs, [("git", lambda: b.run(baseline)), ("ours", lambda: b.run(ours))])
    t_git = b.median([r.wall for r in timed["git"]])
    t_ours = b.median([r.wall for r in timed["ours"]])

    # Memory in separate runs: sampling /proc costs CPU and would skew the times.
    mem = b.alternate(
        2,
        [
            ("git", lambda: b.run(baseline, sample_memory=True)),
            ("ours", lambda: b.run(ours, sample_memory=True)),
        ],
    )
    rss_git = max(r.maxrss for r in mem["git"])
    rss_ours = max(r.maxrss for r in mem["ours"])
    tree_git = max(r.tree_peak for r in mem["git"])
    tree_ours = max(r.tree_peak for r in mem["ours"])

    t_ratio = t_ours / t_git
    m_ratio = tree_ours / tree_git

    def verdict(ratio):
        # The hook's own start (a few ms, a few MiB) weighs more next to a shorter walk.
        return b.verdict(ratio, 1.2) if full_size else "(the target is set for 300,000 commits)"

    b.say(f"{label}: {count} commits")
    b.say(f"  time   git-webhooks/rev-list = {t_ratio:.2f}x  ({b.ms(t_ours)} vs {b.ms(t_git)}, median of {runs})  "
          f"target <= 1.2x: {verdict(t_ratio)}")
    b.say(f"  memory git-webhooks/rev-list = {m_ratio:.2f}x  (whole process tree, sampled peak: "
          f"{b.mib(tree_ours)} vs {b.mib(tree_git)})  target <= 1.2x: {verdict(m_ratio)}")
    b.say(f"         largest single process = {rss_ours / rss_git:.2f}x  "
          f"({b.mib(rss_ours)} vs {b.mib(rss_git)}, getrusage ru_maxrss)")
    return t_ratio, m_ratio


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="a 50,000-commit history and 3 runs")
    p.add_argument("--commits", type=int)
    p.add_argument("--runs", type=int)
    args = p.parse_args()
    commits = args.commits or (50_000 if args.quick else 300_000)
    runs = args.runs or (3 if args.quick else 7)

    gwh = b.binary()
    b.say(f"== first push of a {commits}-commit linear history (BENCH_DIR={b.BENCH_DIR})")
    plain = b.generated_repo(f"linear-{commits}", commits)
    assert not os.path.exists(os.path.join(plain, "objects", "info", "commit-graph"))
    graph = with_commit_graph(plain, f"linear-{commits}-graph")
    b.reset_spool(plain)
    b.reset_spool(graph)
    full_size = commits >= 300_000
    measure("without commit-graph", plain, runs, gwh, full_size)
    measure("with commit-graph   ", graph, runs, gwh, full_size)


if __name__ == "__main__":
    main()
