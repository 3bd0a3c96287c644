"""The benchmark workload as a pyinfra deploy (run with this directory as the cwd).

`register` + `when` become pyinfra facts read while planning (`Command`) and a Python
`if`; the report needs the checksum of a file the deploy itself uploads, so it runs at
execution time in a `python.call` callback.
"""

from io import StringIO

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.facts.server import Command
from pyinfra.operations import files, python, server

root = host.data.bench_root
archive = f"{root}/archives/data-20260126.tar.gz"

files.directory(name="App directory exists", path=f"{root}/app", mode="755")
files.template(
    name="App config is rendered",
    src="templates/app.conf.j2",
    dest=f"{root}/app/app.conf",
    mode="644",
    app_name="shop",
    app_port=8080,
    app_env="production",
)
files.line(
    name="Connection limit is set",
    path=f"{root}/app/settings.ini",
    line="^max_connections=.*$",
    replace="max_connections=200",
)
df = host.get_fact(Command, "df -P /")
if int(df.splitlines()[1].split()[4].rstrip("%")) < 95:
    files.put(
        name="Disk is fine",
        src=StringIO("disk usage below 95%\n"),
        dest=f"{root}/app/disk_ok",
        mode="644",
    )
files.put(name="Message of the day", src="files/motd.txt", dest=f"{root}/app/motd.txt",
          mode="644")
cert = host.get_fact(
    Command, f"openssl x509 -in {root}/cert.pem -noout -enddate -checkend 2592000"
)


def report() -> None:
    ok, output = host.run_shell_command(command=f"sha256sum {root}/app/motd.txt")
    assert ok, output.stderr
    checksum = output.stdout.split()[0]
    files.put(
        name="Report",
        src=StringIO(f"motd_sha256={checksum}\n{cert.splitlines()[0]}\n"),
        dest=f"{root}/app/report.txt",
        mode="644",
    )


python.call(name="Checksum and report", function=report)
if not host.get_fact(File, path=archive):
    server.shell(name="Archive the data directory",
                 commands=[f"tar -czf {archive} -C {root} data"])
server.shell(
    name="Rotate archives, keep 3",
    commands=[f"cd {root}/archives && ls -1 data-*.tar.gz | sort -r | tail -n +4 | "
              'while read -r f; do rm -f -- "$f"; echo "$f"; done'],
)
