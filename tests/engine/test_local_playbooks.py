"""Playbook semantics over the local connection: what a careful Ansible user expects."""

from __future__ import annotations

from pathlib import Path

LOCAL_INV = "localhost,"


def test_register_when_loop_and_handlers(write, runbook, tmp_path: Path):
    out = tmp_path / "out"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          vars:
            target: {out}
            greeting: "hello {{{{ who }}}}"
            who: world
          tasks:
            - command: mkdir -p {{{{ target }}}}
            - name: write greeting
              shell: echo "{{{{ greeting }}}}" > {{{{ target }}}}/greet.txt
              notify: [mark, mark]
            - command: cat {{{{ target }}}}/greet.txt
              register: read
            - name: one file per item, skipping b
              shell: echo {{{{ item }}}} > {{{{ target }}}}/{{{{ item }}}}.txt
              loop: [a, b, c]
              when: item != 'b'
            - name: only when the greeting was read
              shell: echo "{{{{ read.stdout }}}}" > {{{{ target }}}}/copy.txt
              when: read.rc == 0 and 'world' in read.stdout
          handlers:
            - name: mark
              shell: echo x >> {{{{ target }}}}/handler.txt
    """)
    result = runbook("run", pb, "-i", LOCAL_INV)
    assert result.rc == 0, result.out + result.err
    assert (out / "greet.txt").read_text() == "hello world\n"
    assert (out / "copy.txt").read_text() == "hello world\n"
    assert sorted(p.name for p in out.glob("?.txt")) == ["a.txt", "c.txt"]
    assert (out / "handler.txt").read_text() == "x\n"  # notified twice, ran once


def test_block_rescue_always_and_recap(write, runbook, tmp_path: Path):
    out = tmp_path / "trail"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - block:
                - shell: echo block >> {out}
                - command: /bin/false
                - shell: echo never >> {out}
              rescue:
                - shell: echo rescue >> {out}
              always:
                - shell: echo always >> {out}
            - shell: echo after >> {out}
    """)
    result = runbook("run", pb, "-i", LOCAL_INV)
    assert result.rc == 0
    assert out.read_text().split() == ["block", "rescue", "always", "after"]
    assert "rescued=1" in result.out and "failed=0" in result.out


def test_failure_without_rescue_stops_host_and_exits_4(write, runbook, tmp_path: Path):
    out = tmp_path / "trail"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: /bin/false
            - shell: echo never >> {out}
    """)
    result = runbook("run", pb, "-i", LOCAL_INV)
    assert result.rc == 4
    assert not out.exists()
    assert "failed=1" in result.out


def test_ignore_errors_failed_when_changed_when(write, runbook, tmp_path: Path):
    out = tmp_path / "trail"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: /bin/false
              ignore_errors: true
            - shell: echo ERROR
              register: r
              failed_when: "'ERROR' in r.stdout"
              ignore_errors: yes
            - shell: echo fine
              changed_when: false
            - shell: echo done >> {out}
    """)
    result = runbook("run", pb, "-i", LOCAL_INV)
    assert result.rc == 0
    assert out.read_text() == "done\n"
    assert "ignored=2" in result.out and "changed=1" in result.out


def test_retries_until(write, runbook, tmp_path: Path):
    counter = tmp_path / "count"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: echo x >> {counter}; wc -l < {counter}
              register: n
              until: n.stdout | int >= 3
              retries: 5
              delay: 0
    """)
    result = runbook("run", pb, "-i", LOCAL_INV)
    assert result.rc == 0
    assert len(counter.read_text().splitlines()) == 3


def test_tags_skip_tags_and_start_at_task(write, runbook, tmp_path: Path):
    out = tmp_path / "trail"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: first
              shell: echo first >> {out}
              tags: [setup]
            - name: second
              shell: echo second >> {out}
              tags: [deploy]
            - name: third
              shell: echo third >> {out}
              tags: [always]
            - name: fourth
              shell: echo fourth >> {out}
              tags: [never, debug]
    """)
    assert runbook("run", pb, "-i", LOCAL_INV, "--tags", "deploy").rc == 0
    assert out.read_text().split() == ["second", "third"]
    out.unlink()
    assert runbook("run", pb, "-i", LOCAL_INV, "--skip-tags", "setup").rc == 0
    assert out.read_text().split() == ["second", "third"]
    out.unlink()
    assert runbook("run", pb, "-i", LOCAL_INV, "--start-at-task", "second").rc == 0
    assert out.read_text().split() == ["second", "third"]
    out.unlink()
    assert runbook("run", pb, "-i", LOCAL_INV, "-t", "debug").rc == 0
    assert out.read_text().split() == ["third", "fourth"]


def test_include_tasks_with_loop_and_import_tasks(write, runbook, tmp_path: Path):
    out = tmp_path / "trail"
    write("tasks/one.yml", f"""
        - shell: echo "one {{{{ site }}}} {{{{ colour }}}}" >> {out}
    """)
    write("tasks/imported.yml", f"""
        - shell: echo imported >> {out}
    """)
    pb = write("site.yml", """
        - hosts: localhost
          gather_facts: false
          tasks:
            - import_tasks: tasks/imported.yml
            - include_tasks: tasks/one.yml
              loop: [a, b]
              loop_control:
                loop_var: site
              vars:
                colour: red
            - include_tasks: tasks/one.yml
              when: false
              vars:
                site: z
                colour: blue
    """)
    result = runbook("run", pb, "-i", LOCAL_INV)
    assert result.rc == 0, result.out
    assert out.read_text().splitlines() == ["imported", "one a red", "one b red"]


def test_check_mode_changes_nothing(write, runbook, tmp_path: Path):
    out = tmp_path / "made"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: touch {out}
    """)
    result = runbook("run", pb, "-i", LOCAL_INV, "--check")
    assert result.rc == 0
    assert not out.exists()
    assert "skipped" in result.out


def test_set_fact_and_facts_gathering(write, runbook, tmp_path: Path):
    out = tmp_path / "facts"
    pb = write("site.yml", f"""
        - hosts: localhost
          tasks:
            - set_fact:
                combined: "{{{{ ansible_system }}}}-{{{{ ansible_facts.architecture }}}}"
            - shell: echo "{{{{ combined }}}} {{{{ ansible_processor_vcpus > 0 }}}}" > {out}
    """)
    result = runbook("run", pb, "-i", LOCAL_INV)
    assert result.rc == 0, result.out
    system, _, rest = out.read_text().strip().partition("-")
    assert system == "Linux" and rest.endswith(" True")


def test_no_log_hides_output_and_registered_value(write, runbook, tmp_path: Path):
    pb = write("site.yml", """
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: echo s3cr3t-token-value
              register: token
              no_log: true
            - command: /bin/false
              no_log: true
              ignore_errors: true
    """)
    result = runbook("run", pb, "-i", LOCAL_INV, "-v", "--format", "json")
    assert result.rc == 0
    assert "s3cr3t-token-value" not in result.out + result.err


def test_sigterm_ends_the_run_cleanly_with_valid_json(write, tmp_path: Path):
    import json
    import signal
    import subprocess
    import sys
    import time

    started = tmp_path / "started"
    after = tmp_path / "after"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: touch {started}; sleep 30
            - shell: touch {after}
    """)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook_engine", "run", str(pb), "-i", LOCAL_INV,
         "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    document = json.loads(out)
    assert document["exit_code"] == 130
    assert not after.exists()


def test_step_mode_asks_for_each_task(write, tmp_path: Path):
    import subprocess
    import sys

    log = tmp_path / "log"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - {{name: one, shell: echo one >> {log}}}
            - {{name: two, shell: echo two >> {log}}}
            - {{name: three, shell: echo three >> {log}}}
            - {{name: four, shell: echo four >> {log}}}
    """)
    proc = subprocess.run(
        [sys.executable, "-m", "runbook_engine", "run", str(pb), "-i", LOCAL_INV, "--step"],
        input="y\nn\nc\n", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().split() == ["one", "three", "four"]
    assert proc.stdout.count("Perform task:") == 3, "no question after (c)ontinue"


def test_checks_report_files(write, runbook, tmp_path: Path):
    import json

    pb = write("site.yml", """
        - hosts: localhost
          gather_facts: false
          tasks:
            - disk_check: {mounts: [/], warn_percent: 99.9, fail_percent: 100}
            - memory_check: {warn_percent: 99.9, fail_percent: 100}
    """)
    html, data = tmp_path / "report.html", tmp_path / "report.json"
    assert runbook("run", pb, "-i", LOCAL_INV, "--report", html).rc == 0
    text = html.read_text()
    assert text.startswith("<!DOCTYPE html>") and "memory" in text and "<script src" not in text
    assert runbook("run", pb, "-i", LOCAL_INV, "--report", data).rc == 0
    document = json.loads(data.read_text())
    assert "localhost" in json.dumps(document) and "memory" in json.dumps(document)


def test_registered_loop_results_keep_the_item_not_the_label(write, runbook, tmp_path: Path):
    out = tmp_path / "out"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: echo {{{{ item.name }}}}
              loop: [{{name: a, size: 1}}, {{name: b, size: 2}}]
              loop_control:
                label: "{{{{ item.name }}}}"
              register: r
            - shell: echo "{{{{ r.results | map(attribute='item.size') | join(',') }}}}" > {out}
    """)
    result = runbook("run", pb, "-i", LOCAL_INV)
    assert result.rc == 0, result.out
    assert out.read_text() == "1,2\n"
    assert "(item=a)" in result.out, "the label is what is shown"


def test_free_strategy_lets_hosts_run_ahead_within_forks(write, runbook, tmp_path: Path):
    log = tmp_path / "log"
    inv = write("inv.yml", "all:\n  hosts:\n" + "".join(
        f"    h{i}: {{ansible_connection: local}}\n" for i in range(6)))
    pb = write("site.yml", f"""
        - hosts: all
          gather_facts: false
          strategy: free
          tasks:
            - shell: echo "{{{{ inventory_hostname }}}} one" >> {log}
            - shell: echo "{{{{ inventory_hostname }}}} two" >> {log}
    """)
    result = runbook("run", pb, "-i", inv, "--forks", "2")
    assert result.rc == 0, result.out
    lines = log.read_text().splitlines()
    assert len(lines) == 12
    for i in range(6):  # each host's own order holds
        assert lines.index(f"h{i} one") < lines.index(f"h{i} two")


def test_rescue_sees_the_failure_and_empty_loops_are_skipped(write, runbook, tmp_path: Path):
    out = tmp_path / "out"
    pb = write("site.yml", f"""
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: nothing to loop over
              command: echo {{{{ item }}}}
              loop: []
              register: empty
            - block:
                - name: breaks
                  shell: echo boom >&2; exit 3
              rescue:
                - shell: >
                    echo "{{{{ ansible_failed_task.name }}}} rc={{{{ ansible_failed_result.rc }}}}
                    {{{{ ansible_failed_result.stderr }}}} {{{{ empty.skipped }}}}" > {out}
    """)
    result = runbook("run", pb, "-i", LOCAL_INV)
    assert result.rc == 0, result.out
    assert out.read_text().split() == ["breaks", "rc=3", "boom", "True"]
    assert "skipped: [localhost]" in result.out


def test_play_order_keyword(write, runbook, tmp_path: Path):
    log = tmp_path / "log"
    inv = write("inv.yml", "all:\n  hosts:\n" + "".join(
        f"    {n}: {{ansible_connection: local}}\n" for n in ("b", "c", "a")))
    pb = write("site.yml", f"""
        - hosts: all
          gather_facts: false
          order: reverse_sorted
          serial: 1
          tasks:
            - shell: echo {{{{ inventory_hostname }}}} >> {log}
    """)
    assert runbook("run", pb, "-i", inv).rc == 0
    assert log.read_text().split() == ["c", "b", "a"]


def test_a_template_reads_only_the_variables_it_uses(write, runbook, tmp_path: Path):
    # `web_flag` cannot be rendered on db1 (only web1 defines `only_on_web`): a template
    # that never uses it must still render there, as in Ansible; one that uses it fails
    # on db1 alone, naming the missing variable.
    out = tmp_path / "out"
    inv = write("inv.yml", """
        all:
          hosts:
            web1: {ansible_connection: local, only_on_web: "yes"}
            db1: {ansible_connection: local}
          vars:
            web_flag: "{{ only_on_web }}"
    """)
    write("templates/plain.j2", "host={{ inventory_hostname }}\n")
    write("templates/flag.j2", "flag={{ web_flag }}\n")
    pb = write("site.yml", f"""
        - hosts: all
          gather_facts: false
          tasks:
            - file: {{path: {out}, state: directory}}
              run_once: true
            - template:
                src: plain.j2
                dest: "{out}/plain-{{{{ inventory_hostname }}}}.txt"
            - template:
                src: flag.j2
                dest: "{out}/flag-{{{{ inventory_hostname }}}}.txt"
    """)
    result = runbook("run", pb, "-i", inv)
    assert result.rc == 4, result.out + result.err
    assert (out / "plain-db1.txt").read_text() == "host=db1\n"
    assert (out / "plain-web1.txt").read_text() == "host=web1\n"
    assert (out / "flag-web1.txt").read_text() == "flag=yes\n"
    assert not (out / "flag-db1.txt").exists()
    failed = [line for line in result.out.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and "[db1]" in failed[0] and "'only_on_web' is undefined" in failed[0]
