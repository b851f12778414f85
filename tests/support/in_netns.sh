#!/usr/bin/env bash
# Runs a test executable as a sender's host would see the network, without
# touching the real one. Use it under `unshare --net --mount` (as root):
#
#   unshare --net --mount tests/support/in_netns.sh ./test_integration_deploy [args]
#
# Inside the fresh network namespace only `lo` exists; this brings it up and,
# in the private mount namespace, bind-mounts a resolv.conf that says
# `nameserver 127.0.0.1` over /etc/resolv.conf. The test then starts its own
# unbound on 127.0.0.1:53 (tests/support/resolver_env.h) with stub zones for
# the test PowerDNS and BIND, so glibc, curl, ldns and c-ares in every process
# of the test resolve through it. Nothing outside the namespaces changes.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: unshare --net --mount $0 TEST_EXECUTABLE [ARGS...]" >&2
  exit 2
fi
# Both namespaces must be new, or the mounts below would change the host's.
# `unshare` execs this script in the process it moved into new namespaces, so
# the parent (ctest, a shell) is still in the old ones: compare with it. Fail
# closed when a link cannot be read (some sandboxes hide them), and insist on
# a network namespace that has nothing but lo.
refuse() {
  echo "in_netns.sh: $1; run me as 'unshare --net --mount $0 TEST...' (as root)" >&2
  exit 2
}
for ns in net mnt; do
  self=$(readlink "/proc/self/ns/$ns" 2>/dev/null || true)
  parent=$(readlink "/proc/$PPID/ns/$ns" 2>/dev/null || true)
  [ -n "$self" ] && [ -n "$parent" ] || refuse "cannot read the $ns namespace of this process or its parent"
  [ "$self" != "$parent" ] || refuse "not in a new $ns namespace (the same as the parent process's)"
done
links=$(ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
[ "$links" = "lo " ] || refuse "the network namespace has links other than lo: $links"

ip link set lo up
# unshare makes mounts private by default; say so explicitly so the bind
# mount below can never reach the host's mount namespace.
mount --make-rprivate /

dir=$(mktemp -d "${TMPDIR:-/tmp}/stsctl-netns.XXXXXX")
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' >"$dir/resolv.conf"
chmod 644 "$dir/resolv.conf"
mount --bind "$dir/resolv.conf" /etc/resolv.conf
# The hosts file must not answer for test names either.
printf '127.0.0.1 localhost\n::1 localhost\n' >"$dir/hosts"
chmod 644 "$dir/hosts"
mount --bind "$dir/hosts" /etc/hosts
# The mounts hold the files; the directory is not needed any more.
rm -rf "$dir"

export STSCTL_TEST_NETNS=1
# No proxy may catch the tests' HTTPS requests.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
exec "$@"
