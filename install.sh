#!/bin/sh
# shellcheck disable=SC2317 # functions reached through traps, "$action" and "$target_action"
# install.sh: install git-webhooks and make it the post-receive hook of bare repositories.
#
#   ./install.sh [--prefix DIR] [--binary FILE] [--repo PATH]... [--all ROOT]...
#   ./install.sh --uninstall [--repo PATH]... [--all ROOT]... [--remove-binary]
#
# Run ./install.sh --help for the details. It never prompts and is safe to run again:
# a second run with the same arguments changes nothing.

set -eu

prog=install.sh
marker='# git-webhooks-wrapper:'
saved_suffix=.before-git-webhooks

usage() {
    cat <<'EOF'
Usage: install.sh [OPTIONS]

Builds git-webhooks, installs it as PREFIX/bin/git-webhooks, and makes it the
post-receive hook of bare repositories. Never prompts; running it again with the
same arguments changes nothing.

Options:
  --prefix DIR      install under DIR (default: /usr/local): DIR/bin/git-webhooks
  --binary FILE     install FILE instead of building with cargo
  --repo PATH       install the hook into the repository at PATH (repeatable)
  --all ROOT        install the hook into every bare repository under ROOT
                    (searched recursively; repeatable)
  --uninstall       remove the hook from the --repo/--all repositories instead,
                    restoring whatever post-receive hook was there before
  --remove-binary   with --uninstall: also remove PREFIX/bin/git-webhooks
  -h, --help        show this help

Hooks:
  A repository without a post-receive hook gets hooks/post-receive as a symbolic
  link to PREFIX/bin/git-webhooks.

  A repository that already has a different post-receive hook keeps it: the hook
  is moved to hooks/post-receive.before-git-webhooks and hooks/post-receive
  becomes a small wrapper script that runs that hook first and git-webhooks
  second, each with the full list of updated refs on stdin. The push sees the
  existing hook's exit status. --uninstall moves the original hook back.

  A post-receive hook that is neither git-webhooks' link nor its wrapper is
  never changed or removed.

  The hooks directory is the one git uses: core.hooksPath when the repository
  sets it, else hooks/ inside the repository.

Examples:
  ./install.sh                                  # build and install the binary only
  sudo ./install.sh --binary target/release/git-webhooks --all /srv/git
  ./install.sh --prefix "$HOME/.local" --repo ~/git/project.git
  ./install.sh --uninstall --all /srv/git       # take the hook out again
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$prog" "$*" >&2; }
err() { printf '%s: error: %s\n' "$prog" "$*" >&2; }
die() { err "$*"; exit 1; }
usage_error() { err "$*"; printf 'Run %s --help for the options.\n' "$prog" >&2; exit 2; }

# Files to remove when the script ends, however it ends: one path a line.
nl='
'
cleanup_files=
remove_at_exit() { cleanup_files=$cleanup_files$1$nl; }
cleanup() {
    set -f
    IFS=$nl
    for f in $cleanup_files; do
        rm -f "$f"
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Absolute form of PATH (which need not exist yet).
absolute() {
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$(pwd)" "$1" ;;
    esac
}

# --- Options -------------------------------------------------------------------------------

prefix=/usr/local
binary=
uninstall=false
remove_binary=false
have_repos=false

need_value() {
    if [ "$2" -lt 2 ]; then
        usage_error "$1 needs a value"
    fi
}

# Everything except the repositories, which are taken in order from a second pass over
# the same arguments (so that paths with any characters survive).
parse_options() {
    while [ $# -gt 0 ]; do
        case $1 in
            -h | --help) usage; exit 0 ;;
            --prefix) need_value "$1" $#; prefix=$2; shift ;;
            --prefix=*) prefix=${1#--prefix=} ;;
            --binary) need_value "$1" $#; binary=$2; shift ;;
            --binary=*) binary=${1#--binary=} ;;
            --repo | --all) need_value "$1" $#; have_repos=true; shift ;;
            --repo=* | --all=*) have_repos=true ;;
            --uninstall) uninstall=true ;;
            --remove-binary) remove_binary=true ;;
            *) usage_error "unknown argument: $1" ;;
        esac
        shift
    done
}
parse_options "$@"

[ -n "$prefix" ] || usage_error "--prefix needs a directory"
prefix=$(absolute "$prefix")
prefix=${prefix%/}
[ -n "$prefix" ] || prefix=/
bindir=${prefix%/}/bin
target=$bindir/git-webhooks

if $remove_binary && ! $uninstall; then
    usage_error "--remove-binary only goes with --uninstall"
fi
if $uninstall && [ -n "$binary" ]; then
    usage_error "--binary only goes with installing, not with --uninstall"
fi
if $uninstall && ! $have_repos && ! $remove_binary; then
    usage_error "--uninstall needs --repo PATH, --all ROOT or --remove-binary"
fi
if $have_repos && ! command -v git >/dev/null 2>&1; then
    die "git is not on PATH; install git first (the hook is for git repositories)"
fi

# --- Repositories --------------------------------------------------------------------------

# The absolute git directory of PATH (a bare repository, or a .git directory; a working
# tree stands for its .git), or nothing when PATH is not a repository.
git_dir_of() {
    if d=$(git --git-dir="$1" rev-parse --absolute-git-dir 2>/dev/null); then
        printf '%s\n' "$d"
    elif [ -d "$1/.git" ] && d=$(git --git-dir="$1/.git" rev-parse --absolute-git-dir 2>/dev/null); then
        printf '%s\n' "$d"
    else
        return 1
    fi
}

# The hooks directory git uses for the repository at git directory $1.
hooks_dir_of() {
    h=$(git --git-dir="$1" rev-parse --git-path hooks) || return 1
    case $h in
        /*) ;;
        *)
            # A relative core.hooksPath is taken from where hooks run: the repository
            # itself when it is bare, else its working tree.
            if [ "$(git --git-dir="$1" rev-parse --is-bare-repository)" = true ]; then
                h=$1/$h
            else
                h=${1%/.git}/$h
            fi
            ;;
    esac
    printf '%s\n' "${h%/}"
}

# Prints the bare repositories under ROOT, one per line, into the file $2. Directories
# inside a repository are not searched.
find_bare_repos() {
    find -H "$1" -type d -exec sh -c 'test -f "$1/HEAD" && test -d "$1/objects"' sh {} ';' -prune -print >"$2.all" || return 1
    while IFS= read -r d; do
        if [ "$(git --git-dir="$d" rev-parse --is-bare-repository 2>/dev/null)" = true ]; then
            printf '%s\n' "$d"
        fi
    done <"$2.all" | LC_ALL=C sort >"$2"
    rm -f "$2.all"
}

# Calls $1 for each --repo and --all among the arguments that follow, in order, as
# `$1 --repo PATH` or `$1 --all ROOT`. The other options, and the values of --prefix and
# --binary, are skipped.
each_target() {
    target_action=$1
    shift
    expect=
    for a in "$@"; do
        if [ -n "$expect" ]; then
            opt=$expect
            p=$a
            expect=
        else
            case $a in
                --repo | --all) expect=$a; continue ;;
                --repo=*) opt=--repo; p=${a#--repo=} ;;
                --all=*) opt=--all; p=${a#--all=} ;;
                --prefix | --binary) expect=skip; continue ;;
                *) continue ;;
            esac
        fi
        case $opt in
            skip) ;;
            *) "$target_action" "$opt" "$p" ;;
        esac
    done
}

# Checks one --repo PATH or --all ROOT, setting bad=true when it is not usable.
check_target() {
    case $1 in
        --repo)
            if ! git_dir_of "$2" >/dev/null; then
                err "--repo $2: not a git repository. Give the directory of a bare repository (the one holding HEAD, objects/ and refs/), e.g. /srv/git/project.git."
                bad=true
            fi
            ;;
        --all)
            if [ ! -d "$2" ]; then
                err "--all $2: no such directory. Give the directory under which the bare repositories live, e.g. /srv/git."
                bad=true
            fi
            ;;
    esac
}

# Check every --repo and --all before changing anything, so that a typo stops the
# whole run instead of leaving half of it done.
bad=false
each_target check_target "$@"
if [ -n "$binary" ] && [ ! -f "$binary" ]; then
    err "--binary $binary: no such file"
    bad=true
fi
if $bad; then
    err "nothing was changed; fix the paths above and run $prog again"
    exit 1
fi

# --- The binary ----------------------------------------------------------------------------

# Builds the release binary and sets $binary to it.
build() {
    src=$(cd "$(dirname "$0")" && pwd)
    if [ ! -f "$src/Cargo.toml" ]; then
        die "no Cargo.toml next to $prog in $src; run $prog from the git-webhooks source tree, or give --binary FILE"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        die "cargo is not on PATH. Install Rust (https://rustup.rs), or build elsewhere and pass --binary FILE (e.g. cargo build --release as your user, then sudo $prog --binary target/release/git-webhooks)"
    fi
    locked=--locked
    [ -f "$src/Cargo.lock" ] || locked=
    say "building git-webhooks: cargo build --release $locked"
    # shellcheck disable=SC2086 # $locked is empty or one word
    (cd "$src" && cargo build --release $locked) || die "the build failed (see cargo's messages above)"
    tdir=${CARGO_TARGET_DIR:-target}
    case $tdir in /*) ;; *) tdir=$src/$tdir ;; esac
    binary=$tdir/release/git-webhooks
}

# Installs $binary as $target through a temporary file in the same directory, so that a
# hook starting at that moment runs either the old binary or the new one, never a part.
install_binary() {
    if [ -z "$binary" ]; then
        build
    fi
    [ -f "$binary" ] || die "--binary $binary: no such file"
    [ -x "$binary" ] || warn "$binary is not executable; installing it with mode 755 anyway"
    mkdir -p "$bindir" || die "cannot create $bindir; run as a user that may write there (e.g. with sudo), or choose another --prefix"
    if [ -f "$target" ] && [ -x "$target" ] && cmp -s "$binary" "$target"; then
        say "$target is up to date"
    else
        tmp=$bindir/.git-webhooks.tmp.$$
        remove_at_exit "$tmp"
        cp "$binary" "$tmp" || die "cannot write $tmp; run as a user that may write to $bindir (e.g. with sudo), or choose another --prefix"
        chmod 755 "$tmp"
        mv -f "$tmp" "$target" || die "cannot replace $target"
        say "installed $target"
    fi
    if version=$("$target" --version 2>/dev/null); then
        say "$version"
    else
        warn "$target --version did not run; is the binary built for this machine?"
    fi
}

# --- Hooks ---------------------------------------------------------------------------------

# $target quoted for the shell.
quoted_target="'$(printf '%s' "$target" | sed "s/'/'\\\\''/g")'"

# The wrapper that runs an existing post-receive hook and then git-webhooks.
wrapper_text() {
    cat <<EOF
#!/bin/sh
$marker runs post-receive$saved_suffix, then git-webhooks.
# Written by git-webhooks' install.sh; \`install.sh --uninstall\` puts the original back.
# Both read the full stdin; the push sees the original hook's exit status.
hooks=\$(dirname "\$0")
previous=\$hooks/post-receive$saved_suffix
if ! input=\$(mktemp "\${TMPDIR:-/tmp}/git-webhooks.XXXXXX"); then
    echo "git-webhooks: cannot create a temporary file; running only post-receive$saved_suffix" >&2
    if [ -x "\$previous" ]; then exec "\$previous" "\$@"; fi
    exit 0
fi
trap 'rm -f "\$input"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cat >"\$input"
status=0
if [ -x "\$previous" ]; then
    "\$previous" "\$@" <"\$input" || status=\$?
fi
$quoted_target hook <"\$input" || :
exit \$status
EOF
}

is_our_link() {
    [ -L "$1" ] || return 1
    l=$(readlink "$1") || return 1
    case $l in
        git-webhooks | */git-webhooks) return 0 ;;
        *) return 1 ;;
    esac
}

is_our_wrapper() {
    [ -f "$1" ] && [ ! -L "$1" ] && head -n 5 "$1" 2>/dev/null | grep -q "^$marker"
}

# Writes the wrapper to $1 (through a temporary file beside it).
write_wrapper() {
    t=$(dirname "$1")/.post-receive.git-webhooks.tmp.$$
    remove_at_exit "$t"
    wrapper_text >"$t" || return 1
    chmod 755 "$t" || return 1
    mv -f "$t" "$1"
}

# Makes $1 a symbolic link to $target (through a temporary link beside it).
write_link() {
    t=$(dirname "$1")/.post-receive.git-webhooks.tmp.$$
    remove_at_exit "$t"
    rm -f "$t"
    ln -s "$target" "$t" || return 1
    mv -f "$t" "$1"
}

# The git directory, hooks directory and hook paths of the repository at $1.
locate() {
    repo=$1
    gd=$(git_dir_of "$repo") || { err "$repo: not a git repository"; return 1; }
    hd=$(hooks_dir_of "$gd") || { err "$repo: cannot tell where its hooks directory is"; return 1; }
    hook=$hd/post-receive
    saved=$hook$saved_suffix
    if [ -d "$hook" ]; then
        err "$repo: $hook is a directory; move it away and run $prog again"
        return 1
    fi
}

install_repo() {
    locate "$1" || return 1
    if [ "$(git --git-dir="$gd" rev-parse --is-bare-repository)" != true ]; then
        warn "$repo is not a bare repository; its hook only runs for pushes into it"
    fi
    if [ ! -d "$hd" ]; then
        mkdir -p "$hd" || { err "$repo: cannot create $hd"; return 1; }
    fi
    if [ ! -e "$hook" ] && [ ! -L "$hook" ]; then
        ln -s "$target" "$hook" || { err "$repo: cannot create $hook; run as a user that may write to $hd"; return 1; }
        say "$repo: installed ($hook -> $target)"
        if [ -e "$saved" ] || [ -L "$saved" ]; then
            warn "$repo: $saved is left over from an earlier install and is not run; to run it too, move it to $hook (replacing the link) and run $prog again, or delete it"
        fi
    elif is_our_link "$hook"; then
        if [ "$(readlink "$hook")" = "$target" ]; then
            say "$repo: already installed ($hook -> $target)"
        else
            old=$(readlink "$hook")
            write_link "$hook" || { err "$repo: cannot replace $hook; run as a user that may write to $hd"; return 1; }
            say "$repo: installed ($hook -> $target, was -> $old)"
        fi
    elif is_our_wrapper "$hook"; then
        if [ ! -e "$saved" ] && [ ! -L "$saved" ]; then
            warn "$repo: $hook runs $saved, which is missing; only git-webhooks runs"
        fi
        if wrapper_text | cmp -s - "$hook"; then
            say "$repo: already installed (chained after the existing hook, kept as $saved)"
        else
            write_wrapper "$hook" || { err "$repo: cannot replace $hook; run as a user that may write to $hd"; return 1; }
            say "$repo: updated the wrapper $hook (chained after the existing hook, kept as $saved)"
        fi
    else
        # A hook that is not ours: keep it, and run it first from a wrapper.
        if [ -e "$saved" ] || [ -L "$saved" ]; then
            err "$repo: it has its own post-receive hook, and $saved exists too, so the hook cannot be kept under that name. Nothing was changed; look at both files, move $saved away and run $prog again."
            return 1
        fi
        [ -x "$hook" ] || [ -L "$hook" ] || warn "$repo: the existing $hook is not executable, so git does not run it; it is kept as is and stays unrun"
        # A hard link keeps the hook in place while the wrapper is written, so no push in
        # between misses it; where hard links are not possible, it is renamed.
        if ! ln -P "$hook" "$saved" 2>/dev/null; then
            rm -f "$saved"
            mv "$hook" "$saved" || { err "$repo: cannot rename $hook; run as a user that may write to $hd"; return 1; }
        fi
        if ! write_wrapper "$hook"; then
            [ -e "$hook" ] || mv "$saved" "$hook"
            err "$repo: cannot write $hook; run as a user that may write to $hd"
            return 1
        fi
        say "$repo: chained with the existing hook (now $saved, which runs first; then git-webhooks)"
    fi
}

uninstall_repo() {
    locate "$1" || return 1
    if [ ! -e "$hook" ] && [ ! -L "$hook" ]; then
        say "$repo: not installed, nothing to do"
        if [ -e "$saved" ] || [ -L "$saved" ]; then
            warn "$repo: $saved exists but no post-receive runs it; it was left as is (rename it to post-receive to use it again)"
        fi
    elif is_our_link "$hook"; then
        rm -f "$hook" || { err "$repo: cannot remove $hook; run as a user that may write to $hd"; return 1; }
        say "$repo: removed $hook"
    elif is_our_wrapper "$hook"; then
        if [ -e "$saved" ] || [ -L "$saved" ]; then
            mv -f "$saved" "$hook" || { err "$repo: cannot move $saved back; run as a user that may write to $hd"; return 1; }
            say "$repo: restored the previous post-receive hook"
        else
            rm -f "$hook" || { err "$repo: cannot remove $hook; run as a user that may write to $hd"; return 1; }
            warn "$repo: $saved was missing, so there was no previous hook to restore"
            say "$repo: removed $hook"
        fi
    else
        say "$repo: $hook is not git-webhooks' hook; left untouched"
    fi
}

# Runs $action on the repository of --repo PATH ($1 $2), or on each bare repository
# found under --all ROOT; sets failed=true when any of that fails.
act_on_target() {
    case $1 in
        --repo) "$action" "$2" || failed=true ;;
        --all)
            if ! find_bare_repos "$2" "$list"; then
                err "--all $2: could not search it (see find's messages above)"
                failed=true
                return 0
            fi
            if [ ! -s "$list" ]; then
                warn "--all $2: no bare repositories found under it"
            fi
            while IFS= read -r found; do
                "$action" "$found" </dev/null || failed=true
            done <"$list"
            ;;
    esac
}

# Runs $1 (install_repo or uninstall_repo) for every --repo and --all, in order.
each_repo() {
    action=$1
    shift
    failed=false
    list=$(mktemp "${TMPDIR:-/tmp}/git-webhooks-install.XXXXXX")
    remove_at_exit "$list"
    remove_at_exit "$list.all"
    each_target act_on_target "$@"
    ! $failed
}

# --- Run -----------------------------------------------------------------------------------

status=0
if $uninstall; then
    if $have_repos; then
        each_repo uninstall_repo "$@" || status=1
    fi
    if $remove_binary; then
        if [ -e "$target" ] || [ -L "$target" ]; then
            rm -f "$target" || die "cannot remove $target; run as a user that may write to $bindir"
            say "removed $target"
            $have_repos || say "repositories whose post-receive still links to it now send no webhooks; uninstall them with --repo or --all"
        else
            say "$target is not there, nothing to remove"
        fi
    fi
else
    install_binary
    if $have_repos; then
        each_repo install_repo "$@" || status=1
    else
        say "to run it for a repository: $prog --prefix $prefix --binary $target --repo /srv/git/project.git (or --all /srv/git)"
    fi
fi
if [ $status -ne 0 ]; then
    err "some repositories were not done (see above); fix what is said there and run $prog again, the others stay as they are"
fi
exit $status
