#!/usr/bin/env bash
# Installs a release build and the packaging files:
#   sudo packaging/install.sh [--root DIR] [--from DIR]
# --from: the folder with the release programs notistream-server, notistream-gateway and notistream
#         (default: artifacts/release/linux-x64 of this checkout).
# --root: install under DIR instead of / (for a image or a check); then no user is created and
#         systemd is not reloaded.
# Existing files in /etc/notistream are kept; everything else is replaced (an upgrade is the same command).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=/
from="$here/../artifacts/release/linux-x64"
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    *) echo "usage: $0 [--root DIR] [--from DIR]" >&2; exit 2 ;;
  esac
done
root=${root%/}

for program in notistream-server notistream-gateway notistream; do
  if [ ! -x "$from/$program" ]; then
    echo "$from/$program: no such program (build a release first)" >&2
    exit 1
  fi
done

if [ -z "$root" ] && ! getent passwd notistream >/dev/null; then
  useradd --system --user-group --no-create-home --home-dir /var/lib/notistream --shell /usr/sbin/nologin notistream
fi

install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system" "$root/etc/systemd/user" "$root/etc/logrotate.d"
for program in notistream-server notistream-gateway notistream; do
  install -m 0755 "$from/$program" "$root/usr/local/bin/$program"
done
install -m 0644 "$here/systemd/notistream-server.service" "$here/systemd/notistream-gateway.service" "$root/etc/systemd/system/"
install -m 0644 "$here/systemd/user/notistream.service" "$root/etc/systemd/user/"
install -m 0644 "$here/logrotate/notistream" "$root/etc/logrotate.d/notistream"
install -m 0755 "$here/notistream-backup" "$root/usr/local/bin/notistream-backup"

# Settings: read by the services' user, not by others (requirepass, tokens).
install -d -m 0750 "$root/etc/notistream"
[ -e "$root/etc/notistream/notistream.conf" ] || install -m 0640 /dev/null "$root/etc/notistream/notistream.conf"
[ -e "$root/etc/notistream/gateway.env" ] || install -m 0640 /dev/null "$root/etc/notistream/gateway.env"
if [ -z "$root" ]; then
  chgrp notistream /etc/notistream /etc/notistream/notistream.conf /etc/notistream/gateway.env
  systemctl daemon-reload
fi
echo "installed under ${root:-/}"
