#!/usr/bin/env bash
# Installs what the tests need (Debian packages with apt-get, Python packages with pip,
# the npm packages of tests/receivers), then runs them: ./test.sh [cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
have git || need_apt+=(git)
have webhook || need_apt+=(webhook)        # adnanh's webhook: a third-party receiver
have openssl || need_apt+=(openssl)        # certificates for the TLS tests
have script || need_apt+=(bsdutils)        # a terminal for the colour tests
have setpriv || need_apt+=(util-linux)     # running as other accounts
have gitolite || need_apt+=(gitolite3)     # a real gitolite server for install.sh
have ssh-keygen || need_apt+=(openssh-client) # its admin key
have nats-server || [ -x /usr/sbin/nats-server ] || need_apt+=(nats-server) # NATS JetStream hooks
have python3 || need_apt+=(python3 python3-pip)
have node || need_apt+=(nodejs)
have npm || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: install these Debian packages first (as root): ${need_apt[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! python3 -c 'import standardwebhooks, jsonschema' 2>/dev/null; then
  # Reference implementations for the signature and schema tests.
  python3 -m pip install -q standardwebhooks jsonschema 2>/dev/null ||
    python3 -m pip install -q --break-system-packages standardwebhooks jsonschema
fi
if ! python3 -c 'import buildbot.www.hooks.github, buildbot_gitea.webhook' 2>/dev/null; then
  # Buildbot's GitHub change hook and the buildbot-gitea plugin: receivers written for
  # GitHub and Gitea webhooks.
  python3 -m pip install -q buildbot buildbot-gitea 2>/dev/null ||
    python3 -m pip install -q --break-system-packages buildbot buildbot-gitea
fi
if [ ! -d tests/receivers/node_modules/@octokit/webhooks-schemas ] || [ ! -d tests/receivers/node_modules/gitlab-event-types ]; then
  # @octokit/webhooks and GitHub's published webhook schemas, for the GitHub tests;
  # TypeScript and the types of GitLab's webhook events, for the GitLab tests.
  npm install --prefix tests/receivers --no-audit --no-fund --no-package-lock --loglevel=error
fi
# Debian installs nats-server under /usr/sbin.
export PATH="$PATH:/usr/sbin"
exec cargo test "$@"
