#!/bin/sh
# shellcheck disable=SC2317 # functions reached through traps and "$action"
# install.sh: install git-webhooks and make it the post-receive hook of bare repositories.
#
#   ./install.sh [--prefix DIR] [--binary FILE] [--repo PATH]... [--all ROOT]...
#   ./install.sh --uninstall [--repo PATH]... [--all ROOT]... [--remove-binary]
#
# Run ./install.sh --help for the details. It never prompts and is safe to run again:
# a second run with the same arguments changes nothing.
#
# Run as root, it handles each repository as the account that owns it: the steps inside a
# repository run with that account's user and group ids (through setpriv, or runuser), so
# whatever the repository holds (symbolic links, odd names, a core.hooksPath) can only
# reach what its owner could write anyway, and every file it creates there belongs to
# the owner. Repository paths are passed NUL-separated as arguments, never as lines.

set -eu
unset CDPATH

prog=install.sh
marker='# git-webhooks-wrapper:'
saved_suffix=.before-git-webhooks
hook_name=post-receive
saved_name=$hook_name$saved_suffix

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
                    (searched recursively, without following symbolic links;
                    repeatable)
  --uninstall       remove the hook from the --repo/--all repositories instead,
                    restoring whatever post-receive hook was there before
  --remove-binary   with --uninstall: also remove PREFIX/bin/git-webhooks
  -h, --help        show this help

Hooks:
  A repository without a post-receive hook gets hooks/post-receive as a symbolic
  link to PREFIX/bin/git-webhooks.

  A repository that already has a different post-receive hook keeps it: the hook
  is kept as hooks/post-receive.before-git-webhooks and hooks/post-receive
  becomes a small wrapper script that runs that hook first and git-webhooks
  second, each with the full list of updated refs on stdin. The push sees the
  existing hook's exit status. --uninstall moves the original hook back.

  A post-receive hook that already runs git-webhooks (a chain of links to it, a
  script that runs `git-webhooks hook`, gitolite's multi-hook driver with a
  post-receive.h* link to it) is left alone, so that each push runs it once.

  Where gitolite manages the hooks, a post-receive hook that does not run
  git-webhooks is never wrapped (gitolite would replace the wrapper): that
  repository is left as it is and counts as failed; install git-webhooks as a
  gitolite common or repo-specific hook instead (docs/setup.md, "gitolite").

  A post-receive.before-git-webhooks that nothing runs any more (something else
  replaced the wrapper) is removed when it is a copy of the current hook or a
  link to git-webhooks, and otherwise left with a warning.

  With --uninstall, a post-receive hook that is neither git-webhooks' link nor
  its wrapper is never changed or removed.

  The hooks directory is the one git uses: core.hooksPath when the repository
  sets it, else hooks/ inside the repository.

Running as root:
  Each repository is handled as the account that owns it (setpriv or runuser
  switch to its user and group ids), so every file created in it belongs to that
  account, which can later manage or uninstall the hook itself. As root, a
  repository is refused when its hooks/ is a symbolic link, when its
  core.hooksPath leads outside the repository, or when its hooks directory
  belongs to another account; under --all, symbolic links are not followed and
  nothing outside ROOT is touched.

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

# The one private directory this process works in (made with mktemp -d), removed when it
# ends, however it ends (SIGTERM, SIGINT and SIGHUP included).
work=
cleanup() {
    if [ -n "$work" ]; then
        rm -rf -- "$work"
    fi
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

# Sets $resolved to the physical path of the directory $1 (symbolic links resolved), or
# fails. Names may end with newlines, which a bare $(...) would drop.
resolve() {
    resolved=$(cd -P -- "$1" 2>/dev/null && pwd -P && echo x) || return 1
    resolved=${resolved%?x}
}

# Sets $here to the physical path of the current directory.
here() {
    here=$(pwd -P && echo x)
    here=${here%?x}
}

my_uid=$(id -u)
privileged=false
[ "$my_uid" -eq 0 ] && privileged=true

# Runs this script again in a new shell: /bin/sh -c "$bootstrap" "$prog" "$self_text"
# ARGS... The text of the script goes along as an argument, so that an account which
# cannot read the file it came from can still run it.
# shellcheck disable=SC2016 # expanded by that shell
bootstrap='gwi_self=$1; shift; eval "$gwi_self"'

# --- Inside one repository, as its owner ---------------------------------------------------

# The wrapper that runs an existing post-receive hook and then git-webhooks; $1 is the
# installed binary.
wrapper_text() {
    quoted_target="'$(printf '%s' "$1" | sed "s/'/'\\\\''/g")'"
    cat <<EOF
#!/bin/sh
$marker runs $saved_name, then git-webhooks.
# Written by git-webhooks' install.sh; \`install.sh --uninstall\` puts the original back.
# Both read the full stdin; the push sees the original hook's exit status.
hooks=\$(dirname "\$0")
previous=\$hooks/$saved_name
if ! input=\$(mktemp "\${TMPDIR:-/tmp}/git-webhooks.XXXXXX"); then
    echo "git-webhooks: cannot create a temporary file; running only $saved_name" >&2
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
    l=$(readlink -- "$1") || return 1
    case $l in
        git-webhooks | */git-webhooks) return 0 ;;
        *) return 1 ;;
    esac
}

is_our_wrapper() {
    [ -f "$1" ] && [ ! -L "$1" ] && head -n 5 -- "$1" 2>/dev/null | grep -q "^$marker"
}

present() { [ -e "$1" ] || [ -L "$1" ]; }

# Device and inode of $1 itself (not of what a link points to).
inode_of() { stat -c '%d:%i' -- "$1" 2>/dev/null; }

# Removes the private directories (.git-webhooks.XXXXXX) that runs stopped by a signal at
# the wrong moment may have left in the directory $1.
remove_leftovers() {
    for d in "$1"/.git-webhooks.??????; do
        if [ -d "$d" ] && [ ! -L "$d" ]; then
            rm -rf -- "$d"
        fi
    done
}

# The private directory for temporary files, inside the hooks directory (the current
# directory) so that renames out of it are atomic; made on first use.
private_dir() {
    if [ -z "$work" ]; then
        work=$(mktemp -d .git-webhooks.XXXXXX) || return 1
        here
        work=$here/$work
    fi
}

# Moves $1 to $2, replacing $2 itself and never moving into $2 when $2 is (or points to)
# a directory.
replace() {
    if mv -f -T -- "$1" "$2" 2>/dev/null; then
        return 0
    fi
    # mv without -T (not GNU): refuse a directory in the way rather than move into it.
    if [ -d "$2" ]; then
        return 1
    fi
    mv -f -- "$1" "$2"
}

# Writes the wrapper (for binary $1) as $hook_name, through the private directory.
write_wrapper() {
    private_dir || return 1
    wrapper_text "$1" >"$work/wrapper" || return 1
    chmod 755 "$work/wrapper" || return 1
    replace "$work/wrapper" "$hook_name"
}

# Makes $hook_name a symbolic link to $1, through the private directory.
write_link() {
    private_dir || return 1
    rm -f -- "$work/link"
    ln -s -- "$1" "$work/link" || return 1
    replace "$work/link" "$hook_name"
}

# True when $saved_name is a copy of $hook_name that an interrupted earlier run made
# (the same file, the same bytes, or a link with the same target), so that going on
# loses nothing.
saved_is_copy_of_hook() {
    a=$(inode_of "$hook_name") && b=$(inode_of "$saved_name") && [ "$a" = "$b" ] && return 0
    if [ -L "$hook_name" ] && [ -L "$saved_name" ]; then
        a=$(readlink -- "$hook_name") && b=$(readlink -- "$saved_name") && [ "$a" = "$b" ]
        return
    fi
    [ -f "$hook_name" ] && [ ! -L "$hook_name" ] && [ -f "$saved_name" ] && [ ! -L "$saved_name" ] &&
        cmp -s -- "$hook_name" "$saved_name"
}

# What the file $1 finally is, through any chain of symbolic links.
final_target() {
    ft=$(readlink -f -- "$1" 2>/dev/null && echo x) || return 1
    printf '%s\n' "${ft%?x}"
}

# True when $1 is git-webhooks itself: a file named git-webhooks at the end of its chain
# of symbolic links, the installed binary, or a copy of it.
is_git_webhooks_binary() {
    bin=$(final_target "$1") && [ -f "$bin" ] || return 1
    case $bin in
        */git-webhooks) return 0 ;;
    esac
    [ "$(inode_of "$bin")" = "$(inode_of "$target")" ] || cmp -s -- "$bin" "$target"
}

# True when $1 (followed through links) is a script that runs git-webhooks: a line that
# is not a comment names it (such as `exec git-webhooks hook`), install.sh's marker and
# kept-hook name aside. Binary files are not scripts.
script_runs_git_webhooks() {
    [ -f "$1" ] && grep -Iq '' -- "$1" 2>/dev/null || return 1
    head -c 262144 -- "$1" | sed -e 's/^[[:space:]]*//' -e '/^#/d' \
        -e "s/$saved_name//g" -e 's/git-webhooks-wrapper//g' | grep -q git-webhooks
}

# True when running the hook file $1 runs git-webhooks.
runs_git_webhooks() {
    is_git_webhooks_binary "$1" || script_runs_git_webhooks "$1"
}

# Describes the hook file $1 for messages: where its links lead, or that it is a script.
describe() {
    if [ -L "$1" ]; then
        first=$(readlink -- "$1")
        last=$(final_target "$1") || last=$first
        if [ "$first" = "$last" ]; then
            printf '%s -> %s' "$hd/$1" "$first"
        else
            printf '%s -> %s -> … -> %s' "$hd/$1" "$first" "$last"
        fi
    else
        printf '%s (a script that runs git-webhooks)' "$hd/$1"
    fi
}

# True when $1 (followed through links) is gitolite's multi-hook driver, which its
# repo-specific hooks install as post-receive: it runs every executable post-receive.*
# file (post-receive.h00-NAME, …) with the same stdin.
# shellcheck disable=SC2016 # gitolite's text, not an expansion
is_gitolite_driver() {
    [ -f "$1" ] && grep -qF 'for h in $0.*' -- "$1" 2>/dev/null
}

# True when a push runs git-webhooks through $hook_name: the hook itself, or (through
# gitolite's multi-hook driver) one of the post-receive.* files it runs, install.sh's
# kept hook aside. Sets $runs_how to what runs it.
hook_runs_git_webhooks() {
    if runs_git_webhooks "$hook_name"; then
        runs_how=$(describe "$hook_name")
        return 0
    fi
    is_gitolite_driver "$hook_name" || return 1
    for chained in "$hook_name".*; do
        if [ "$chained" != "$saved_name" ] && [ -x "$chained" ] && runs_git_webhooks "$chained"; then
            runs_how="$(describe "$chained"), run by gitolite's $hd/$hook_name"
            return 0
        fi
    done
    return 1
}

# True when gitolite manages the hooks of this repository (the current directory is its
# hooks directory, $gd its git directory): its hooks link into gitolite's hook
# directories (~/.gitolite/hooks/common, LOCAL_CODE's hooks), its update hook is
# gitolite's, or it lives next to gitolite-admin.git in gitolite's repositories/.
# Sets $gitolite_how to the reason.
gitolite_manages_hooks() {
    for hook_file in *; do
        [ -L "$hook_file" ] || continue
        case $(readlink -- "$hook_file") in
            */.gitolite/hooks/* | */hooks/common/* | */hooks/repo-specific/* | */hooks/multi-hook-driver)
                gitolite_how="$hd/$hook_file -> $(readlink -- "$hook_file")"
                return 0
                ;;
        esac
    done
    if [ -f update ] && grep -qF 'Gitolite::Hooks::Update' update 2>/dev/null; then
        gitolite_how="$hd/update is gitolite's"
        return 0
    fi
    d=$gd
    while [ -n "$d" ]; do
        d=${d%/*}
        if [ -d "$d/gitolite-admin.git/objects" ]; then
            gitolite_how="it is next to gitolite's $d/gitolite-admin.git"
            return 0
        fi
    done
    return 1
}

gitolite_method="install git-webhooks the gitolite way instead (a common or a repo-specific hook): see the gitolite section of docs/setup.md"

# A $saved_name that nothing runs any more, once $hook_name runs git-webhooks: removed
# when it holds nothing that would be lost (a copy of $hook_name, or a link to
# git-webhooks), else left with a warning.
tidy_saved() {
    present "$saved_name" || return 0
    if saved_is_copy_of_hook; then
        why="the same as $hook"
    elif [ -L "$saved_name" ] && is_git_webhooks_binary "$saved_name"; then
        why="a link to git-webhooks"
    else
        warn "$repo: $saved is left over from an earlier install and nothing runs it; if it is still needed, run it from $hook (see docs/setup.md), else delete it"
        return 0
    fi
    rm -f -- "$saved_name" || { err "$repo: cannot remove $saved; run as a user that may write to $hd"; return 1; }
    say "$repo: removed $saved, left over from an earlier install ($why)"
}

# Makes $hook_name the link to $target where there was no post-receive hook.
install_link() {
    ln -s -- "$target" "$hook_name" || { err "$repo: cannot create $hook; run as a user that may write to $hd"; return 1; }
    say "$repo: installed ($hook -> $target)"
    if gitolite_manages_hooks; then
        say "$repo: note: gitolite manages this repository's hooks ($gitolite_how); it replaces this link when it installs a post-receive of its own. To keep git-webhooks there, $gitolite_method"
    fi
}

# Brings our link up to date.
update_link() {
    old=$(readlink -- "$hook_name")
    if [ "$old" = "$target" ]; then
        say "$repo: already installed ($hook -> $target)"
    else
        write_link "$target" || { err "$repo: cannot replace $hook; run as a user that may write to $hd"; return 1; }
        say "$repo: installed ($hook -> $target, was -> $old)"
    fi
}

# Our wrapper: brought up to date, or taken out when the hook it runs first already runs
# git-webhooks (then every push ran it twice).
update_wrapper() {
    if present "$saved_name" && runs_git_webhooks "$saved_name"; then
        replace "$saved_name" "$hook_name" || { err "$repo: cannot move $saved back to $hook; run as a user that may write to $hd"; return 1; }
        say "$repo: $saved already runs git-webhooks, so the wrapper ran it twice on every push; put it back as $hook, which now runs git-webhooks once"
        return 0
    fi
    if ! present "$saved_name"; then
        warn "$repo: $hook runs $saved, which is missing; only git-webhooks runs"
    fi
    if wrapper_text "$target" | cmp -s - "$hook_name"; then
        say "$repo: already installed (chained after the existing hook, kept as $saved)"
    else
        write_wrapper "$target" || { err "$repo: cannot replace $hook; run as a user that may write to $hd"; return 1; }
        say "$repo: updated the wrapper $hook (chained after the existing hook, kept as $saved)"
    fi
}

# A hook that is not ours and does not run git-webhooks: kept, and run first from a
# wrapper; never where gitolite manages the hooks (its next setup would replace the
# wrapper and leave the kept hook behind).
chain_hook() {
    if gitolite_manages_hooks; then
        err "$repo: gitolite manages this repository's hooks ($gitolite_how), and its $hook does not run git-webhooks; $prog does not wrap it. Nothing was changed; $gitolite_method."
        return 1
    fi
    if present "$saved_name"; then
        if saved_is_copy_of_hook; then
            : # An earlier run kept the hook and stopped before writing the wrapper.
        elif [ -L "$saved_name" ] && is_git_webhooks_binary "$saved_name"; then
            # Left over from an earlier install; the wrapper runs git-webhooks anyway.
            rm -f -- "$saved_name" || { err "$repo: cannot remove $saved; run as a user that may write to $hd"; return 1; }
            say "$repo: removed $saved, left over from an earlier install (a link to git-webhooks)"
        else
            err "$repo: it has its own post-receive hook, and $saved exists too, so the hook cannot be kept under that name. Nothing was changed; look at both files, move $saved away and run $prog again."
            return 1
        fi
    fi
    if ! present "$saved_name"; then
        [ -x "$hook_name" ] || [ -L "$hook_name" ] || warn "$repo: the existing $hook is not executable, so git does not run it; it is kept as is and stays unrun"
        # A second name (a hard link, else a copy) keeps the hook in place while the
        # wrapper is written, so no push in between misses it, and a run stopped at
        # any point leaves the hook where it was.
        if ! ln -P -- "$hook_name" "$saved_name" 2>/dev/null; then
            if ! private_dir || ! cp -P -p -- "$hook_name" "$work/saved" || ! replace "$work/saved" "$saved_name"; then
                err "$repo: cannot keep $hook as $saved; run as a user that may write to $hd"
                return 1
            fi
        fi
    fi
    if ! write_wrapper "$target"; then
        err "$repo: cannot write $hook; run as a user that may write to $hd"
        return 1
    fi
    say "$repo: chained with the existing hook (now $saved, which runs first; then git-webhooks)"
}

# Installs the hook in the current directory (the repository's hooks directory, $hd);
# the decisions are listed in docs/setup.md ("What install.sh does with existing hooks").
install_here() {
    target=$1
    hook=$hd/$hook_name
    saved=$hd/$saved_name
    if [ -d "$hook_name" ]; then
        err "$repo: $hook is a directory; move it away and run $prog again"
        return 1
    fi
    if ! present "$hook_name"; then
        install_link && tidy_saved
    elif is_our_link "$hook_name"; then
        update_link && tidy_saved
    elif is_our_wrapper "$hook_name"; then
        update_wrapper
    elif hook_runs_git_webhooks; then
        say "$repo: already runs git-webhooks: $runs_how; nothing changed"
        tidy_saved
    else
        chain_hook
    fi
}

# Takes the hook out of the current directory (the hooks directory, $hd).
uninstall_here() {
    hook=$hd/$hook_name
    saved=$hd/$saved_name
    if ! present "$hook_name"; then
        say "$repo: not installed, nothing to do"
        if present "$saved_name"; then
            warn "$repo: $saved exists but no post-receive runs it; it was left as is (rename it to post-receive to use it again)"
        fi
    elif is_our_link "$hook_name"; then
        rm -f -- "$hook_name" || { err "$repo: cannot remove $hook; run as a user that may write to $hd"; return 1; }
        say "$repo: removed $hook"
    elif is_our_wrapper "$hook_name"; then
        if present "$saved_name"; then
            replace "$saved_name" "$hook_name" || { err "$repo: cannot move $saved back; run as a user that may write to $hd"; return 1; }
            say "$repo: restored the previous post-receive hook"
        else
            rm -f -- "$hook_name" || { err "$repo: cannot remove $hook; run as a user that may write to $hd"; return 1; }
            warn "$repo: $saved was missing, so there was no previous hook to restore"
            say "$repo: removed $hook"
        fi
    else
        say "$repo: $hook is not git-webhooks' hook; left untouched"
    fi
}

# One repository, run by its owner (or by the user who ran install.sh when it was not
# root): --owner-step ACTION KIND PRIVILEGED TARGET SHOWN GITDIR. KIND is repo (named
# with --repo) or found (found under --all); SHOWN is how messages name it; GITDIR is its
# physical git directory.
owner_step() {
    action=$1 kind=$2 priv=$3 target=$4 repo=$5 gd=$6
    if $priv; then
        # The environment of the account that started install.sh is not this one's.
        unset GIT_DIR GIT_WORK_TREE GIT_COMMON_DIR GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
            GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_CONFIG GIT_CONFIG_GLOBAL GIT_CONFIG_PARAMETERS \
            GIT_CONFIG_COUNT GIT_CEILING_DIRECTORIES XDG_CONFIG_HOME TMPDIR
    fi
    # From here on every path is relative to a directory this process is in, so a rename
    # of anything above it cannot lead it elsewhere.
    if ! cd -P -- "$gd" 2>/dev/null; then
        err "$repo: cannot enter $gd as $(id -un 2>/dev/null || id -u)"
        return 1
    fi
    if $priv; then
        here
        if [ "$here" != "$gd" ]; then
            err "$repo: $gd was replaced while $prog ran; nothing was changed, run $prog again"
            return 1
        fi
        if [ "$(stat -c %u .)" != "$(id -u)" ]; then
            err "$repo: $gd changed owner while $prog ran; nothing was changed, run $prog again"
            return 1
        fi
    fi
    if ! bare=$(git --git-dir=. rev-parse --is-bare-repository 2>/dev/null); then
        [ "$kind" = found ] && return 0
        err "$repo: git cannot read it as a repository (as $(id -un 2>/dev/null || id -u)); see git --git-dir=$gd rev-parse"
        return 1
    fi
    if [ "$bare" != true ]; then
        # Under --all only bare repositories count (a working tree's .git is left alone).
        [ "$kind" = found ] && return 0
        [ "$action" = install ] && warn "$repo is not a bare repository; its hook only runs for pushes into it"
    fi
    top=$gd
    [ "$bare" = true ] || top=${gd%/.git}

    # The hooks directory git uses: core.hooksPath, else hooks/.
    if hp=$(git --git-dir=. config --get core.hooksPath 2>/dev/null) && [ -n "$hp" ]; then
        h=$(git --git-dir=. rev-parse --git-path hooks) || { err "$repo: cannot tell where its hooks directory is"; return 1; }
        case $h in
            /*) ;;
            *) h=$top/$h ;; # relative to where hooks run: the repository, or its working tree
        esac
        from="core.hooksPath ($hp)"
    else
        # Relative to the repository this process is in.
        h=hooks
        from=hooks
        if $priv && [ -L hooks ]; then
            err "$repo: $gd/hooks is a symbolic link; as root, $prog does not follow it (whoever can change the link could point it at another repository or any directory). Nothing was changed. Make hooks a plain directory of the repository, or run $prog as the repository's owner (without root) to install through the link."
            return 1
        fi
    fi
    case $h in
        /*) shown=$h ;;
        *) shown=$gd/$h ;;
    esac
    if [ ! -d "$h" ]; then
        if [ "$action" = uninstall ]; then
            say "$repo: not installed, nothing to do"
            return 0
        fi
        if $priv; then
            # Only ever create it inside the repository.
            inside=false
            case $h in
                hooks | "$top"/*) inside=true ;;
            esac
            case /$h/ in
                */../* | */./*) inside=false ;;
            esac
            case $inside in
                true) ;;
                *)
                    err "$repo: its hooks directory, from $from, is $shown, which does not exist and is not inside the repository $top; as root, $prog does not create it. Nothing was changed. Point core.hooksPath at a directory inside the repository, or run $prog as the repository's owner (without root)."
                    return 1
                    ;;
            esac
        fi
        mkdir -p -- "$h" || { err "$repo: cannot create $shown"; return 1; }
    fi
    if ! cd -P -- "$h" 2>/dev/null; then
        err "$repo: cannot enter its hooks directory $shown"
        return 1
    fi
    here
    hd=$here
    if $priv; then
        case $hd/ in
            "$top"/*) ;;
            *)
                err "$repo: its hooks directory, from $from, is $hd, outside the repository $top; as root, $prog only installs into hooks directories inside the repository, so that a repository cannot make root write elsewhere. Nothing was changed. Point core.hooksPath at a directory inside the repository, or run $prog as the account that owns $hd (without root)."
                return 1
                ;;
        esac
        if [ "$(stat -c %u .)" != "$(id -u)" ]; then
            err "$repo: its hooks directory $hd belongs to another account ($(stat -c %U . 2>/dev/null || stat -c %u .)) than the repository ($(id -un 2>/dev/null || id -u)); as root, $prog does not install there. Nothing was changed. Give it to the repository's owner (chown), or run $prog as the account that owns it."
            return 1
        fi
    fi
    remove_leftovers .
    case $action in
        install) install_here "$target" ;;
        uninstall) uninstall_here ;;
    esac
}

# --- One repository, before switching to its owner -----------------------------------------

# Sets $gd to the git directory of the repository at the absolute path $1 (a bare
# repository, or a working tree with a .git directory), as a physical path.
git_dir_of() {
    resolve "$1" || return 1
    if [ -f "$resolved/HEAD" ] && [ -d "$resolved/objects" ]; then
        gd=$resolved
    elif [ -d "$resolved/.git" ] && [ ! -L "$resolved/.git" ] && [ -f "$resolved/.git/HEAD" ] && [ -d "$resolved/.git/objects" ]; then
        gd=$resolved/.git
    elif ! $privileged && d=$(git --git-dir="$resolved/.git" rev-parse --absolute-git-dir 2>/dev/null); then
        # A working tree whose .git is a file (a linked worktree, a submodule).
        resolve "$d" && gd=$resolved
    else
        return 1
    fi
}

# Runs "$@" as the owner (uid $1) of the repository at $2 when this runs as root, and as
# is otherwise. Sets HOME, USER and LOGNAME to the owner's.
as_owner() {
    uid=$1 where=$2
    shift 2
    if ! $privileged || [ "$uid" -eq 0 ]; then
        "$@"
        return
    fi
    if ! entry=$(getent passwd "$uid" 2>/dev/null) || [ -z "$entry" ]; then
        err "$where belongs to uid $uid, which has no account (getent passwd $uid finds nothing); give it to an account with chown and run $prog again"
        return 1
    fi
    IFS=: read -r name _ _ gid _ home _ <<EOF
$entry
EOF
    [ -d "$home" ] || home=/
    if command -v setpriv >/dev/null 2>&1; then
        (cd / && exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- \
            env HOME="$home" USER="$name" LOGNAME="$name" "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd / && exec runuser -u "$name" -- env HOME="$home" USER="$name" LOGNAME="$name" "$@")
    else
        err "$where: neither setpriv nor runuser is installed, so root cannot act as its owner $name; install util-linux, or run $prog as $name"
        return 1
    fi
}

# --dispatch ACTION KIND ROOT TARGET -- PATH...: checks each path and handles it as its
# owner. KIND is repo or found; ROOT is the physical --all directory (found paths must
# stay inside it).
dispatch() {
    action=$1 kind=$2 root=$3 target=$4
    shift 4
    [ "${1:-}" = -- ] && shift
    ok=true
    for p in "$@"; do
        dispatch_one "$p" || ok=false
    done
    $ok
}

dispatch_one() {
    p=$1
    case $kind in
        found)
            # find listed it as a directory below ROOT without following links; it must
            # still be one now, at the same physical place.
            if [ -L "$p" ]; then
                err "$p: is now a symbolic link (it was replaced after $root was searched); not followed, nothing was changed there"
                return 1
            fi
            if ! resolve "$p"; then
                err "$p: is gone (it was removed or renamed after $root was searched); nothing was changed there"
                return 1
            fi
            r=$resolved
            if [ "$r" != "$p" ]; then
                err "$p: now leads to $r through a symbolic link; not followed, nothing was changed there"
                return 1
            fi
            case $r in
                "${root%/}"/* | "$root") ;;
                *)
                    err "$p: is outside $root; nothing was changed there"
                    return 1
                    ;;
            esac
            [ -f "$r/HEAD" ] && [ -d "$r/objects" ] || return 0
            gd=$r
            ;;
        repo)
            if ! git_dir_of "$p"; then
                err "$p: not a git repository"
                return 1
            fi
            ;;
    esac
    uid=$(stat -c %u -- "$gd") || { err "$p: cannot tell who owns $gd"; return 1; }
    as_owner "$uid" "$p" /bin/sh -c "$bootstrap" "$prog" "$self_text" --owner-step "$action" "$kind" "$privileged" "$target" "$p" "$gd"
}

# --- Internal entry points ----------------------------------------------------------------

case ${1:-} in
    --owner-step | --dispatch)
        self_text=${gwi_self:?}
        unset gwi_self
        step=$1
        shift
        case $step in
            --owner-step) owner_step "$@" ;;
            --dispatch) dispatch "$@" ;;
        esac
        exit
        ;;
esac

if [ ! -f "$0" ]; then
    die "run $prog as a file (sh install.sh …), not from a pipe: it runs itself again for each repository"
fi
self_text=$(cat -- "$0") || die "cannot read $0"

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
if $have_repos && $privileged && ! command -v setpriv >/dev/null 2>&1 && ! command -v runuser >/dev/null 2>&1; then
    die "running as root, $prog handles each repository as its owner with setpriv or runuser, and neither is installed; install util-linux, or run $prog as the account that owns the repositories"
fi

# --- Repositories --------------------------------------------------------------------------

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
            *)
                case $p in
                    /*) ;;
                    *) here; p=$here/$p ;;
                esac
                "$target_action" "$opt" "$p"
                ;;
        esac
    done
}

# Checks one --repo PATH or --all ROOT, setting bad=true when it is not usable.
check_target() {
    case $1 in
        --repo)
            if ! git_dir_of "$2"; then
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

# Installs $binary as $target through a private temporary directory in the same
# directory, so that a hook starting at that moment runs either the old binary or the
# new one, never a part.
install_binary() {
    if [ -z "$binary" ]; then
        build
    fi
    [ -f "$binary" ] || die "--binary $binary: no such file"
    [ -x "$binary" ] || warn "$binary is not executable; installing it with mode 755 anyway"
    mkdir -p -- "$bindir" || die "cannot create $bindir; run as a user that may write there (e.g. with sudo), or choose another --prefix"
    remove_leftovers "$bindir"
    if [ -f "$target" ] && [ -x "$target" ] && cmp -s -- "$binary" "$target"; then
        say "$target is up to date"
    else
        work=$(mktemp -d "$bindir/.git-webhooks.XXXXXX") || die "cannot write to $bindir; run as a user that may write there (e.g. with sudo), or choose another --prefix"
        cp -- "$binary" "$work/git-webhooks" || die "cannot write $work/git-webhooks; run as a user that may write to $bindir (e.g. with sudo), or choose another --prefix"
        chmod 755 "$work/git-webhooks"
        mv -f -- "$work/git-webhooks" "$target" || die "cannot replace $target"
        rm -rf -- "$work"
        work=
        say "installed $target"
    fi
    if version=$("$target" --version 2>/dev/null); then
        say "$version"
    else
        warn "$target --version did not run; is the binary built for this machine?"
    fi
}

# find's search for the repositories under the physical directory $1, then the action
# given ("$@"): directories holding HEAD and objects/, without following symbolic links
# and without looking inside a repository.
find_repos() {
    fr_root=$1
    shift
    find -P "$fr_root" -type d -exec sh -c 'test -f "$1/HEAD" && test -d "$1/objects"' sh {} ';' -prune "$@"
}

# Runs $action on the repository of --repo PATH ($1 $2), or on each bare repository
# found under --all ROOT; sets failed=true when any of that fails.
act_on_target() {
    case $1 in
        --repo)
            (kind=repo root= && dispatch_one "$2") </dev/null || failed=true
            ;;
        --all)
            if ! resolve "$2"; then
                err "--all $2: cannot enter it"
                failed=true
                return 0
            fi
            root=$resolved
            if [ -z "$(find_repos "$root" -print -quit 2>/dev/null)" ]; then
                warn "--all $2: no bare repositories found under it"
                return 0
            fi
            # The repositories go from find to the per-repository steps NUL-separated,
            # through pipes only (no file that anyone could swap for a link); fd 3
            # carries the exit statuses of find and xargs.
            exec 4>&1
            statuses=$(
                {
                    if find_repos "$root" -print0 3>&- 4>&-; then
                        echo find=0 >&3
                    else
                        echo "find=$?" >&3
                    fi | LC_ALL=C sort -z 3>&- 4>&- | {
                        if xargs -0 -r /bin/sh -c "$bootstrap" "$prog" "$self_text" \
                            --dispatch "$action" found "$root" "$target" -- >&4 3>&- 4>&-; then
                            echo xargs=0 >&3
                        else
                            echo "xargs=$?" >&3
                        fi
                    }
                } 3>&1
            )
            exec 4>&-
            case $statuses in
                *find=0*) ;;
                *)
                    err "--all $2: could not search all of it (see find's messages above)"
                    failed=true
                    ;;
            esac
            case $statuses in
                *xargs=0*) ;;
                *) failed=true ;;
            esac
            ;;
    esac
}

# Runs $1 (install or uninstall) for every --repo and --all, in order.
each_repo() {
    action=$1
    shift
    failed=false
    each_target act_on_target "$@"
    ! $failed
}

# --- Run -----------------------------------------------------------------------------------

status=0
if $uninstall; then
    if $have_repos; then
        each_repo uninstall "$@" || status=1
    fi
    if $remove_binary; then
        if [ -e "$target" ] || [ -L "$target" ]; then
            rm -f -- "$target" || die "cannot remove $target; run as a user that may write to $bindir"
            say "removed $target"
            $have_repos || say "repositories whose post-receive still links to it now send no webhooks; uninstall them with --repo or --all"
        else
            say "$target is not there, nothing to remove"
        fi
    fi
else
    install_binary
    if $have_repos; then
        each_repo install "$@" || status=1
    else
        say "to run it for a repository: $prog --prefix $prefix --binary $target --repo /srv/git/project.git (or --all /srv/git)"
    fi
fi
if [ $status -ne 0 ]; then
    err "some repositories were not done (see above); fix what is said there and run $prog again, the others stay as they are"
fi
exit $status
