"""Shared pieces of the benchmarks: where things live, generated repositories (cached
under $BENCH_DIR), a loopback receiver, and timing / peak-memory of child processes.

Every benchmark compares git-webhooks with a baseline measured in the same run and
prints ratios; absolute times are shown only to read the ratios by.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
BENCH_DIR = os.environ.get("BENCH_DIR", "/tmp/git-webhooks-bench")
BASELINE_HOOK = os.environ.get(
    "BASELINE_HOOK", os.path.join(os.path.dirname(ROOT), "shared", "bench", "baseline-hook.sh")
)
ZERO = "0" * 40

# The benchmarks must not read the machine's system-wide config or the user's git config.
CLEAN_ENV = dict(os.environ)
CLEAN_ENV.update(
    {
        "GIT_WEBHOOKS_CONFIG": "/nonexistent/git-webhooks.toml",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "LC_ALL": "C",
    }
)
for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_PUSH_OPTION_COUNT", "GIT_QUARANTINE_PATH"):
    CLEAN_ENV.pop(var, None)


def say(text=""):
    print(text, flush=True)


def binary():
    """The release binary; built first unless GIT_WEBHOOKS_BIN names one."""
    given = os.environ.get("GIT_WEBHOOKS_BIN")
    if given:
        return given
    path = os.path.join(ROOT, "target", "release", "git-webhooks")
    built = subprocess.run(
        ["cargo", "build", "--release", "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if built.returncode != 0:
        if not os.path.exists(path):
            sys.exit("cargo build --release failed:\n" + built.stderr.decode(errors="replace"))
        say("warning: cargo build --release failed; using the binary already built")
    return path


def as_hook(gwh):
    """The command that runs git-webhooks as git runs it after a push: through a link
    named post-receive (with GIT_DIR in the environment and the push on stdin)."""
    link = os.path.join(BENCH_DIR, "hook", "post-receive")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(os.path.abspath(gwh), link)
    return [link]


def git(*args, cwd=None, git_dir=None, stdin=None, check=True):
    cmd = ["git"]
    if git_dir:
        cmd += ["--git-dir", git_dir]
    cmd += list(args)
    out = subprocess.run(
        cmd, cwd=cwd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=CLEAN_ENV
    )
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.decode(errors='replace')}")
    return out.stdout.decode(errors="replace")


# ---------------------------------------------------------------------------------------
# Generated repositories


def _fast_import_stream(path, commits, branches=(), tags=(), start=1_500_000_000):
    """Writes a fast-import stream of a linear history on refs/heads/main.

    Each commit changes one of 64 small files. `branches` is a list of (name, at, extra):
    a branch forked at commit number `at` with `extra` commits of its own. `tags` is a
    list of (name, at, annotated).
    """
    with open(path, "wb") as f:
        w = f.write
        for i in range(1, commits + 1):
            t = start + i * 60
            msg = f"Change {i}\n\nGenerated commit number {i} of the benchmark history.\n".encode()
            content = f"line {i}\n".encode()
            w(b"commit refs/heads/main\n")
            w(b"mark :%d\n" % i)
            w(b"author Bench Author <author@example.com> %d +0800\n" % t)
            w(b"committer Bench Committer <committer@example.com> %d +0800\n" % t)
            w(b"data %d\n%s\n" % (len(msg), msg))
            if i > 1:
                w(b"from :%d\n" % (i - 1))
            w(b"M 644 inline src/file%02d.txt\ndata %d\n%s\n" % (i % 64, len(content), content))
        mark = commits
        for name, at, extra in branches:
            parent = at
            for k in range(extra):
                mark += 1
                t = start + at * 60 + (k + 1) * 7
                msg = f"{name}: work {k + 1}\n".encode()
                content = f"{name} {k}\n".encode()
                w(b"commit refs/heads/%s\n" % name.encode())
                w(b"mark :%d\n" % mark)
                w(b"author Bench Author <author@example.com> %d +0800\n" % t)
                w(b"committer Bench Committer <committer@example.com> %d +0800\n" % t)
                w(b"data %d\n%s\n" % (len(msg), msg))
                w(b"from :%d\n" % parent)
                w(b"M 644 inline branch.txt\ndata %d\n%s\n" % (len(content), content))
                parent = mark
            if extra == 0:
                w(b"reset refs/heads/%s\nfrom :%d\n\n" % (name.encode(), at))
        for name, at, annotated in tags:
            if annotated:
                msg = f"Release {name}\n".encode()
                w(b"tag %s\nfrom :%d\n" % (name.encode(), at))
                w(b"tagger Bench Tagger <tagger@example.com> %d +0800\n" % (start + at * 60 + 30))
                w(b"data %d\n%s\n" % (len(msg), msg))
            else:
                w(b"reset refs/tags/%s\nfrom :%d\n\n" % (name.encode(), at))
        w(b"done\n")


def generated_repo(name, commits, branches=(), tags=(), repack=True):
    """A bare repository made by fast-import, cached at $BENCH_DIR/NAME.git."""
    path = os.path.join(BENCH_DIR, name + ".git")
    stamp = os.path.join(path, "bench-complete")
    if os.path.exists(stamp):
        return path
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(BENCH_DIR, exist_ok=True)
    say(f"  generating {path} ({commits} commits, {len(branches)} extra branches, {len(tags)} tags) ...")
    t0 = time.time()
    git("init", "-q", "--bare", "-b", "main", path)
    stream = os.path.join(BENCH_DIR, name + ".fi")
    _fast_import_stream(stream, commits, branches, tags)
    with open(stream, "rb") as f:
        subprocess.run(
            ["git", "--git-dir", path, "fast-import", "--quiet", "--done"],
            stdin=f,
            check=True,
            env=CLEAN_ENV,
        )
    os.remove(stream)
    if repack:
        # No reachability bitmap: a pushed pack has none, and neither side reads one.
        git("-c", "repack.writeBitmaps=false", "repack", "-a", "-d", "-q", git_dir=path)
    git("pack-refs", "--all", git_dir=path)
    open(stamp, "w").close()
    say(f"  generated in {time.time() - t0:.1f} s")
    return path


def refs_of(git_dir):
    """(sha, refname) of every ref, as for-each-ref lists them."""
    out = git("for-each-ref", "--format=%(objectname) %(refname)", git_dir=git_dir)
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if line]


def mirror_into(source, name):
    """A bare copy (objects and refs) of `source` at $BENCH_DIR/NAME.git, made once."""
    path = os.path.join(BENCH_DIR, name + ".git")
    stamp = os.path.join(path, "bench-complete")
    if os.path.exists(stamp):
        return path
    shutil.rmtree(path, ignore_errors=True)
    git("init", "-q", "--bare", "-b", "main", path)
    git("push", "-q", "--mirror", path, cwd=source, git_dir=source)
    open(stamp, "w").close()
    return path


def creation_lines(git_dir):
    """The post-receive stdin of a push that created every ref of the repository."""
    return "".join(f"{ZERO} {sha} {ref}\n" for sha, ref in refs_of(git_dir))


def reset_spool(git_dir, fresh=False):
    """Forgets earlier runs' delivery log, outbox and backoffs, so that each run starts
    alike: with the directories and lock files that every run after a repository's first
    leaves in place, or, when `fresh`, with no webhooks/ directory at all."""
    spool = os.path.join(git_dir, "webhooks")
    if fresh:
        shutil.rmtree(spool, ignore_errors=True)
        return
    for root, _dirs, files in os.walk(spool):
        if os.path.basename(root) != "locks":
            for name in files:
                os.unlink(os.path.join(root, name))


def write_config(git_dir, urls, timeout=None, budget=None):
    """webhooks.toml for git-webhooks and webhook-urls for the baseline hook."""
    lines = ['[repository]\nname = "bench"\nhomepage = "https://git.example.com/bench/bench"\n']
    if budget is not None:
        lines.append(f"[delivery]\nbudget = {budget}\n")
    for n, url in enumerate(urls):
        lines.append(f'[[hook]]\nname = "h{n}"\nurl = "{url}"\n')
        if timeout is not None:
            lines.append(f"timeout = {timeout}\n")
    with open(os.path.join(git_dir, "webhooks.toml"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(git_dir, "webhook-urls"), "w") as f:
        f.write("".join(u + "\n" for u in urls))


# ---------------------------------------------------------------------------------------
# The receiver (bench/receiver.py in its own process)


class Receiver:
    """A loopback receiver in its own process; `/slow/SECONDS/...` paths answer late."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(BENCH, "receiver.py")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=CLEAN_ENV,
        )
        self.port = int(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{self.port}"

    def url(self, path="/hook"):
        return self.base + path

    def stats(self):
        with urllib.request.urlopen(self.base + "/stats", timeout=10) as r:
            return json.load(r)

    def reset(self):
        req = urllib.request.Request(self.base + "/reset", data=b"", method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def close(self):
        self.proc.terminate()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------------------
# Measuring child processes


def _descendants_rss(root):
    """Summed resident memory (KiB) of the descendants of `root` (not `root` itself),
    read from /proc."""
    parent = {}
    rss = {}
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{entry}/statm", "rb") as f:
                pages = int(f.read().split()[1])
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        pid = int(entry)
        parent[pid] = int(fields[1])
        rss[pid] = pages * page_kib
    total = 0
    for pid, kib in rss.items():
        p = parent.get(pid, 0)
        while p > 1:
            if p == root:
                total += kib
                break
            p = parent.get(p, 0)
    return total


GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


class Result:
    def __init__(self, wall, maxrss, tree_peak, status, stdout, stderr):
        self.wall = wall  # seconds
        self.maxrss = maxrss  # KiB, largest single process of the tree (or None)
        self.tree_peak = tree_peak  # KiB, sampled peak of the tree's summed RSS (or None)
        self.status = status
        self.stdout = stdout
        self.stderr = stderr


def run(cmd, stdin=b"", env=None, cwd=None, sample_memory=False, check=True):
    """Runs `cmd` once and returns its wall time.

    With `sample_memory` (use it in separate runs: it costs CPU) also:
    - maxrss: the peak RSS of the largest single process of the command's tree, from
      getrusage as GNU time reports it. The command runs under /usr/bin/time, a small
      process, because a child forked from this Python process would carry Python's
      high-water mark across exec into its ru_maxrss. Without GNU time, os.wait4's
      ru_maxrss is used, an upper bound.
    - tree_peak: the peak of the summed RSS of all processes of the command's tree
      (what the command really occupies while its children run in parallel), sampled
      from /proc every 2 ms.
    """
    import tempfile

    with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr, \
            tempfile.NamedTemporaryFile() as ftime:
        fin.write(stdin if isinstance(stdin, bytes) else stdin.encode())
        fin.seek(0)
        wrapped = [GNU_TIME, "-f", "%M", "-o", ftime.name] + list(cmd) if sample_memory and GNU_TIME else list(cmd)
        t0 = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdin=fin, stdout=fout, stderr=ferr, env=env or CLEAN_ENV, cwd=cwd)
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], _descendants_rss(proc.pid))
                done.wait(0.002)

        sampler = None
        if sample_memory:
            if not GNU_TIME:
                # Without the wrapper the command is proc itself: count it too.
                def sample():  # noqa: F811
                    while not done.is_set():
                        try:
                            with open(f"/proc/{proc.pid}/statm", "rb") as f:
                                own = int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
                        except (OSError, ValueError, IndexError):
                            own = 0
                        peak[0] = max(peak[0], own + _descendants_rss(proc.pid))
                        done.wait(0.002)
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        done.set()
        if sampler:
            sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
        maxrss = None
        if sample_memory:
            maxrss = usage.ru_maxrss
            if GNU_TIME:
                try:
                    maxrss = int(open(ftime.name).read().split()[-1])
                except (OSError, ValueError, IndexError):
                    pass
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    return Result(wall, maxrss, peak[0] if sample_memory else None, proc.returncode, out, err)


def median(values):
    return statistics.median(values)


def alternate(runs, commands, before=None):
    """Runs each (label, thunk) of `commands` `runs` times, interleaved so that drift
    in the machine's speed hits all alike; returns {label: [Result, ...]}."""
    results = {label: [] for label, _ in commands}
    for _ in range(runs):
        for label, thunk in commands:
            if before:
                before(label)
            results[label].append(thunk())
    return results


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def verdict(ratio, target, lower_is_better=True):
    ok = ratio <= target if lower_is_better else ratio >= target
    return "meets target" if ok else "MISSES target"


def quick_flag(argv):
    return "--quick" in argv
