#!/bin/sh
# redeliver-all.sh ROOT: send again what git-webhooks could not deliver, for every bare
# repository under ROOT that has something waiting (a webhooks/outbox or webhooks/pushes
# directory). Quiet unless something goes wrong, so cron mails only problems; exits
# non-zero when a repository could not be handled.
#
# Install it and add a crontab line for the user that owns the repositories (crontab -e),
# to run it every 5 minutes:
#   install -m 755 hooks/redeliver-all.sh /usr/local/bin/git-webhooks-redeliver-all
#   */5 * * * * /usr/local/bin/git-webhooks-redeliver-all /srv/git
#
# git-webhooks is looked for on PATH, then in /usr/local/bin; set GIT_WEBHOOKS to its
# path to choose another. Directories inside a repository are not searched.

set -eu
me=$(basename "$0")

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
root=$1
if [ ! -d "$root" ]; then
    echo "$me: $root is not a directory; give the directory the bare repositories are under" >&2
    exit 2
fi

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

list=$(mktemp "${TMPDIR:-/tmp}/redeliver-all.XXXXXX")
trap 'rm -f "$list"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

status=0
find -H "$root" -type d -exec sh -c 'test -f "$1/HEAD" && test -d "$1/objects"' sh {} ';' -prune -print >"$list" || status=1
while IFS= read -r repo; do
    [ -d "$repo/webhooks/outbox" ] || [ -d "$repo/webhooks/pushes" ] || continue
    [ "$(git --git-dir="$repo" rev-parse --is-bare-repository 2>/dev/null)" = true ] || continue
    if "$bin" redeliver --quiet --repo "$repo" </dev/null; then
        :
    else
        rc=$?
        echo "$me: $repo: git-webhooks redeliver failed (exit $rc); see git-webhooks log --repo $repo" >&2
        status=1
    fi
done <"$list"
exit $status
