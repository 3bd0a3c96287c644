#!/usr/bin/env bash
# Installs the Debian packages the tests need. Idempotent: does nothing when all are present.
set -euo pipefail
packages=(openssh-server openssh-client sudo nftables iproute2 zstd unzip
          pebble certbot nginx-light redis-server postgresql
          php-cli php-sqlite3 php-xml php-mbstring php-zip php-curl
          cron curl openssl
          mariadb-server mariadb-client)  # mysqldump path of the backup module
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing Debian packages (run as root to install): ${missing[*]}" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p /run/sshd
