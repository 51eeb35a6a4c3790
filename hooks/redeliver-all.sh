#!/bin/sh
# redeliver-all.sh ROOT: send again what git-webhooks could not deliver, for every bare
# repository under ROOT that has something waiting (a webhooks/outbox or webhooks/pushes
# directory). Quiet unless something goes wrong, so cron mails only problems; exits
# non-zero when a repository could not be handled.
#
# Run as root, it runs git-webhooks in each repository as the account that owns that
# repository (switching with setpriv, or runuser), so the files it writes there belong
# to that account and it reads only what that account may read. Run as another account,
# it handles the repositories that account owns and reports the others.
#
# `git-webhooks redeliver --all ROOT --quiet` does the same in one command; this script
# adds its checks of each directory as it goes.
#
# Install it, then run it every 5 minutes from the systemd timer
# (hooks/git-webhooks-redeliver.service and .timer) or from cron, e.g. in root's
# crontab, or in the crontab of the one account that owns all the repositories:
#   install -m 755 hooks/redeliver-all.sh /usr/local/bin/git-webhooks-redeliver-all
#   */5 * * * * /usr/local/bin/git-webhooks-redeliver-all /srv/git
#
# git-webhooks is looked for on PATH, then in /usr/local/bin; set GIT_WEBHOOKS to its
# path to choose another. ROOT is searched without following symbolic links, and
# directories inside a repository are not searched.

set -eu
unset CDPATH
me=$(basename -- "$0")

# Sets $resolved to the physical path of directory $1; names may end with newlines.
resolve() {
    resolved=$(cd -P -- "$1" 2>/dev/null && pwd -P && echo x) || return 1
    resolved=${resolved%?x}
}

# In one repository, as its owner (run with sh -c, so that it needs no file the owner
# may not be able to read): BIN DIR. Checks that DIR is still the directory it was, owned
# by this account, and a bare repository, then runs git-webhooks redeliver there. Exits
# 125 after saying why it did not run.
# shellcheck disable=SC2016 # expanded by that shell
owner_step='
me=$0 bin=$1 dir=$2
unset GIT_DIR GIT_WORK_TREE GIT_COMMON_DIR GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
    GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_CONFIG GIT_CONFIG_PARAMETERS GIT_CONFIG_COUNT
if ! cd -P -- "$dir" 2>/dev/null; then
    echo "$me: $dir: cannot enter it as $(id -un 2>/dev/null || id -u)" >&2
    exit 125
fi
here=$(pwd -P && echo x)
here=${here%?x}
if [ "$here" != "$dir" ] || [ "$(stat -c %u .)" != "$(id -u)" ]; then
    echo "$me: $dir: it was replaced while $me ran; left for the next run" >&2
    exit 125
fi
[ "$(git --git-dir=. rev-parse --is-bare-repository 2>/dev/null)" = true ] || exit 0
# --repo . : the directory this shell checked, whatever happens to its path since.
exec "$bin" redeliver --quiet --repo .
'

# For each DIR found under ROOT, as the account that started the script:
# --dispatch BIN ROOT -- DIR...
if [ "${1:-}" = --dispatch ]; then
    bin=$2 root=$3
    shift 3
    [ "${1:-}" = -- ] && shift
    my_uid=$(id -u)
    status=0
    for dir in "$@"; do
        # find listed it as a directory below ROOT without following links; it must still
        # be one now, at the same physical place.
        if [ -L "$dir" ] || ! resolve "$dir" || [ "$resolved" != "$dir" ]; then
            echo "$me: $dir: it was replaced (by a symbolic link, or moved) after $root was searched; not followed" >&2
            status=1
            continue
        fi
        case $dir in
            "${root%/}"/* | "$root") ;;
            *)
                echo "$me: $dir is outside $root; skipped" >&2
                status=1
                continue
                ;;
        esac
        [ -d "$dir/webhooks/outbox" ] || [ -d "$dir/webhooks/pushes" ] || continue
        uid=$(stat -c %u -- "$dir") || { status=1; continue; }
        if [ "$uid" = "$my_uid" ]; then
            set -- /bin/sh -c "$owner_step" "$me" "$bin" "$dir"
        elif [ "$my_uid" -ne 0 ]; then
            owner=$(stat -c %U -- "$dir" 2>/dev/null || echo "$uid")
            echo "$me: $dir belongs to $owner, and this runs as $(id -un 2>/dev/null || echo "$my_uid"), so its pending deliveries were not sent; run $me as root (it switches to each repository's owner) or as $owner" >&2
            status=1
            continue
        elif ! entry=$(getent passwd "$uid" 2>/dev/null) || [ -z "$entry" ]; then
            echo "$me: $dir belongs to uid $uid, which has no account; give it to one with chown" >&2
            status=1
            continue
        else
            IFS=: read -r name _ _ gid _ home _ <<EOF
$entry
EOF
            [ -d "$home" ] || home=/
            if command -v setpriv >/dev/null 2>&1; then
                set -- setpriv --reuid="$uid" --regid="$gid" --init-groups -- \
                    env HOME="$home" USER="$name" LOGNAME="$name" /bin/sh -c "$owner_step" "$me" "$bin" "$dir"
            elif command -v runuser >/dev/null 2>&1; then
                set -- runuser -u "$name" -- \
                    env HOME="$home" USER="$name" LOGNAME="$name" /bin/sh -c "$owner_step" "$me" "$bin" "$dir"
            else
                echo "$me: neither setpriv nor runuser is installed, so root cannot run git-webhooks as $name for $dir; install util-linux" >&2
                status=1
                continue
            fi
        fi
        if (cd / && exec "$@") </dev/null; then
            :
        else
            rc=$?
            if [ "$rc" -ne 125 ]; then
                echo "$me: $dir: git-webhooks redeliver failed (exit $rc); see git-webhooks log --repo $dir" >&2
            fi
            status=1
        fi
    done
    exit $status
fi

case ${1:-} in
    -h | --help)
        sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
esac
if [ $# -ne 1 ]; then
    echo "usage: $me ROOT   (e.g. $me /srv/git)" >&2
    exit 2
fi
if ! resolve "$1" || [ ! -d "$1" ]; then
    echo "$me: $1 is not a directory; give the directory the bare repositories are under" >&2
    exit 2
fi
root=$resolved

bin=${GIT_WEBHOOKS:-}
if [ -z "$bin" ]; then
    if bin=$(command -v git-webhooks 2>/dev/null); then
        :
    elif [ -x /usr/local/bin/git-webhooks ]; then
        bin=/usr/local/bin/git-webhooks
    else
        echo "$me: git-webhooks is not on PATH nor in /usr/local/bin; set GIT_WEBHOOKS=/path/to/git-webhooks" >&2
        exit 1
    fi
fi
case $bin in
    /*) ;;
    *) bin=$(pwd -P)/$bin ;;
esac
case $0 in
    /*) self=$0 ;;
    *) self=$(pwd -P)/$0 ;;
esac

trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Bare repositories below ROOT, without following symbolic links, passed NUL-separated
# through pipes only (no file that anyone could swap for a link); fd 3 carries the exit
# statuses of find and xargs.
exec 4>&1
statuses=$(
    {
        if find -P "$root" -type d -exec sh -c 'test -f "$1/HEAD" && test -d "$1/objects"' sh {} ';' \
            -prune -print0 3>&- 4>&-; then
            echo find=0 >&3
        else
            echo "find=$?" >&3
        fi | LC_ALL=C sort -z 3>&- 4>&- | {
            if xargs -0 -r /bin/sh "$self" --dispatch "$bin" "$root" -- >&4 3>&- 4>&-; then
                echo xargs=0 >&3
            else
                echo "xargs=$?" >&3
            fi
        }
    } 3>&1
)
exec 4>&-
case $statuses in
    *find=0*xargs=0* | *xargs=0*find=0*) exit 0 ;;
    *) exit 1 ;;
esac
