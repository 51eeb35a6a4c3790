#!/usr/bin/env bash
# Installs what the tests need (Debian packages with apt-get, Python packages with pip),
# then runs them: ./test.sh [cargo test arguments]
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
have python3 || need_apt+=(python3 python3-pip)
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
# TypeScript and the types of GitLab's webhook events, for the GitLab flavour's tests.
npm_dir=target/npm
if [ ! -d "$npm_dir/node_modules/gitlab-event-types" ] || [ ! -d "$npm_dir/node_modules/typescript" ]; then
  have npm || { echo "test.sh: npm (Node.js) is needed for the payload tests" >&2; exit 1; }
  mkdir -p "$npm_dir"
  (cd "$npm_dir" && npm install --silent --no-audit --no-fund typescript@5 gitlab-event-types@2.0.1)
fi
exec cargo test "$@"
