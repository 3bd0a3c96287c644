"""The floor: one paramiko connection per host running the whole workload as ONE shell
script, hosts in a thread pool. Same end state as the playbook, idempotent, no framework.

    python -m bench.floor SPEC.json      (SPEC: {"parallel": P, "targets": [...]})
"""

from __future__ import annotations

import json
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import paramiko

from bench.fixtures import NEW_ARCHIVE, WORKLOAD
from bench.verify import rendered_config

_SCRIPT = r"""set -e
R={root}
put() {{  # put PATH MODE < content: replace only when different
  t="$1.rb.$$"; cat > "$t"
  if cmp -s "$t" "$1"; then rm -f "$t"; else mv -f "$t" "$1"; fi
  chmod "$2" "$1"
}}
mkdir -p "$R/app"; chmod 0755 "$R/app"
put "$R/app/app.conf" 0644 <<'RB_EOF'
{config}RB_EOF
f="$R/app/settings.ini"
if grep -q '^max_connections=' "$f"; then
  grep -qx 'max_connections=200' "$f" || sed -i 's/^max_connections=.*/max_connections=200/' "$f"
else echo 'max_connections=200' >> "$f"; fi
u=$(df -P / | awk 'NR==2 {{sub("%", "", $5); print $5}}')
if [ "$u" -lt 95 ]; then printf 'disk usage below 95%%\n' | put "$R/app/disk_ok" 0644; fi
put "$R/app/motd.txt" 0644 <<'RB_EOF'
{motd}RB_EOF
sum=$(sha256sum "$R/app/motd.txt" | cut -d' ' -f1)
end=$(openssl x509 -in "$R/cert.pem" -noout -enddate -checkend 2592000 | head -n 1)
printf 'motd_sha256=%s\n%s\n' "$sum" "$end" | put "$R/app/report.txt" 0644
a="$R/archives/{archive}"
[ -e "$a" ] || tar -czf "$a" -C "$R" data
cd "$R/archives" && ls -1 data-*.tar.gz | sort -r | tail -n +4 |
  while read -r f; do rm -f -- "$f"; done
"""


def script(root: str) -> str:
    motd = (WORKLOAD / "files" / "motd.txt").read_text()
    return _SCRIPT.format(root=shlex.quote(root), config=rendered_config(), motd=motd,
                          archive=NEW_ARCHIVE)


def run_one(target: dict[str, Any]) -> str | None:
    """None on success, else the error."""
    client = paramiko.SSHClient()
    client.load_host_keys(target["known_hosts"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(target["address"], port=target["port"], username=target["user"],
                       key_filename=target["key_file"], allow_agent=False,
                       look_for_keys=False, timeout=target["timeout"],
                       banner_timeout=target["timeout"], auth_timeout=target["timeout"])
        _, stdout, stderr = client.exec_command("/bin/sh -s")
        stdout.channel.sendall(script(target["root"]).encode())
        stdout.channel.shutdown_write()
        out, err = stdout.read(), stderr.read()
        rc = stdout.channel.recv_exit_status()
        return None if rc == 0 else f"{target['name']}: rc={rc} {err.decode()[-300:]} {out!r}"
    except Exception as exc:
        return f"{target['name']}: {exc!r}"
    finally:
        client.close()


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    with ThreadPoolExecutor(spec["parallel"]) as pool:
        errors = [e for e in pool.map(run_one, spec["targets"]) if e]
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
