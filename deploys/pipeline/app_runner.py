#!/usr/bin/python3
"""The one-node runtime's side on the host: Marathon app definitions run as Docker
containers under systemd, where no Mesos runs. Shipped by deploys/pipeline; stdlib only.

    app_runner.py run NAME INSTANCE   ExecStart of bigdata-app-NAME@INSTANCE.service
    app_runner.py apply NAME          roll out what the deploy wrote to /etc/bigdata/apps
    app_runner.py status NAME         what runs (JSON, for the deploy's fact)
    app_runner.py remove NAME         stop every instance of an app no longer defined

The deploy writes the desired version to /etc/bigdata/apps/NAME.{json,env,ports};
`apply` copies it to /var/lib/bigdata/apps/NAME/current.* (what the instances run,
with the image pinned by id) after keeping the running version as previous.*, then
restarts the instances one at a time, each waiting until its health check passes.
If one never passes, the previous version is restored (in /etc/bigdata/apps too)
and restarted, and `apply` fails naming the app and its health check.
"""
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DESIRED = Path("/etc/bigdata/apps")       # written by the deploy
STATE = Path("/var/lib/bigdata/apps")     # NAME/current.*, NAME/previous.*, NAME/health-I.json
WANTS = Path("/etc/systemd/system/multi-user.target.wants")
PARTS = ("json", "env", "ports")          # the files of a version, beside its pinned image id


def unit(name: str, instance: int) -> str:
    return f"bigdata-app-{name}@{instance}.service"


def container(name: str, instance: int) -> str:
    return f"bigdata-{name}-{instance}"


def say(message: str) -> None:
    print(message, flush=True)


# --- versions: the desired one, the current one, the previous one ------------------------
def image_id(reference: str) -> str:
    done = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", reference],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def fingerprint(files: dict[str, bytes], image: str) -> str:
    """What makes a version: its files and its image id (the deploy computes the same
    from what it uploads, to know without changing anything whether `apply` is due)."""
    digest = hashlib.sha256()
    for part in PARTS:
        digest.update(files[part] + b"\0")
    digest.update(image.encode())
    return digest.hexdigest()


def read_version(name: str, which: str) -> tuple[dict[str, bytes], str] | None:
    folder = STATE / name
    try:
        files = {part: (folder / f"{which}.{part}").read_bytes() for part in PARTS}
        return files, (folder / f"{which}.image").read_text().strip()
    except FileNotFoundError:
        return None


def write_version(name: str, which: str, files: dict[str, bytes], image: str) -> None:
    folder = STATE / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for part, content in files.items():
        path = folder / f"{which}.{part}"
        path.write_bytes(content)
        path.chmod(0o600)
    (folder / f"{which}.image").write_text(image)


def definition_of(files: dict[str, bytes]) -> dict:
    return json.loads(files["json"])


def restarts_needed(old: tuple[dict[str, bytes], str] | None, new: tuple[dict[str, bytes], str]) -> set[int] | bool:
    """True: every instance restarts (a new definition, secret or image); else the set of
    instances whose ports changed: a change of the instance count alone restarts nothing,
    as Marathon scales without touching the running tasks."""
    if old is None or old[1] != new[1] or old[0]["env"] != new[0]["env"]:
        return True
    definitions = [definition_of(files) for files, _ in (old, new)]
    for definition in definitions:
        definition.pop("instances", None)
    if definitions[0] != definitions[1]:
        return True
    old_ports, new_ports = (json.loads(files["ports"]) for files, _ in (old, new))
    return {int(i) for i in new_ports if i in old_ports and old_ports[i] != new_ports[i]}


# --- run: one instance, in the foreground of its systemd unit ---------------------------
class Stop(Exception):
    pass


def notify(state: str) -> None:
    """sd_notify: READY=1 tells systemd (Type=notify) that the instance is healthy."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode())


def env_file_values(content: bytes) -> dict[str, str]:
    pairs = (line.partition("=") for line in content.decode().splitlines() if "=" in line)
    return {key: value for key, _, value in pairs}


def substitute(text: str, values: dict[str, str]) -> str:
    """$PORT0, $PORTS, $HOST... in args, as Marathon's shell would expand them in cmd."""
    for key in sorted(values, key=len, reverse=True):
        text = text.replace(f"${key}", values[key]).replace(f"${{{key}}}", values[key])
    return text


def docker_command(name: str, instance: int, definition: dict, ports: list[int], image: str,
                   env_file: Path) -> list[str]:
    host = socket.getfqdn()
    task = {"HOST": host, "PORTS": ",".join(map(str, ports)), "MARATHON_APP_ID": definition["id"],
            "MESOS_TASK_ID": f"{definition['id'].strip('/').replace('/', '_')}.{instance}",
            **{f"PORT{i}": str(port) for i, port in enumerate(ports)}}
    if ports:
        task["PORT"] = str(ports[0])
    command = ["docker", "run", "--rm", "--name", container(name, instance), "--network", "host",
               "--cpus", str(definition.get("cpus", 1)), "--memory", f"{int(definition.get('mem', 128))}m",
               "--env-file", str(env_file), "--label", f"io.bigdata.app={definition['id']}",
               "--label", f"io.bigdata.instance={instance}"]
    for key, value in {**{k: v for k, v in definition.get("env", {}).items() if isinstance(v, str)},
                       **task}.items():
        command += ["--env", f"{key}={value}"]
    if definition.get("user"):  # Marathon's task user: the host's account, owner of what it writes to host volumes
        account = pwd.getpwnam(definition["user"])
        command += ["--user", f"{account.pw_uid}:{account.pw_gid}"]
    for volume in definition.get("container", {}).get("volumes", []):
        Path(volume["hostPath"]).mkdir(parents=True, exist_ok=True)
        mode = "ro" if volume.get("mode", "RW").upper() == "RO" else "rw"
        command += ["--volume", f"{volume['hostPath']}:{volume['containerPath']}:{mode}"]
    for key, value in definition.get("labels", {}).items():
        command += ["--label", f"{key}={value}"]
    return command + [image] + [substitute(arg, task) for arg in definition.get("args", [])]


def check_health(check: dict, ports: list[int], name: str, instance: int) -> tuple[bool, str]:
    protocol = check.get("protocol", "HTTP")
    timeout = check.get("timeoutSeconds", 20)
    port = ports[check.get("portIndex", 0)] if ports else check.get("port")
    if protocol in ("HTTP", "MESOS_HTTP", "HTTPS", "MESOS_HTTPS"):
        scheme = "https" if protocol.endswith("HTTPS") else "http"
        url = f"{scheme}://127.0.0.1:{port}{check.get('path', '/')}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                return 200 <= answer.status < 400, f"GET {url}: {answer.status}"
        except urllib.error.HTTPError as error:
            return False, f"GET {url}: {error.code}"
        except (OSError, ValueError) as error:
            return False, f"GET {url}: {getattr(error, 'reason', error)}"
    if protocol in ("TCP", "MESOS_TCP"):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
            return True, f"TCP 127.0.0.1:{port}: open"
        except OSError as error:
            return False, f"TCP 127.0.0.1:{port}: {error}"
    command = check.get("command", {}).get("value", "true")  # COMMAND: inside the container
    done = subprocess.run(["docker", "exec", container(name, instance), "sh", "-c", command],
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode == 0, f"{command!r}: exit {done.returncode}"


def run(name: str, instance: int) -> int:
    version = read_version(name, "current")
    if version is None:
        say(f"{name}: nothing applied yet ({STATE / name}/current.*)")
        return 1
    files, image = version
    definition = definition_of(files)
    ports = json.loads(files["ports"]).get(str(instance), [])
    grace = definition.get("taskKillGracePeriodSeconds", 10)
    health_file = STATE / name / f"health-{instance}.json"
    health_file.unlink(missing_ok=True)
    subprocess.run(["docker", "rm", "--force", container(name, instance)], capture_output=True)  # after kill -9

    def stop(*_):
        raise Stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    command = docker_command(name, instance, definition, ports, image, STATE / name / "current.env")
    task = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    try:
        return watch(name, instance, definition, ports, task, health_file)
    except Stop:
        say(f"{name}: instance {instance}: stopping (docker stop, {grace}s grace)")
        subprocess.run(["docker", "stop", "--time", str(grace), container(name, instance)], capture_output=True)
        task.wait()
        return 0


def watch(name, instance, definition, ports, task, health_file) -> int:
    """Marathon's health semantics: failures within the grace period are ignored until
    the first success; then maxConsecutiveFailures in a row kill the task."""
    checks = definition.get("healthChecks", [])
    if not checks:
        notify("READY=1")
    started = time.monotonic()
    first_check = started + max((c.get("delaySeconds", 0) for c in checks), default=0)
    healthy_once, failures = False, {}
    while task.poll() is None:
        now = time.monotonic()
        if checks and now >= first_check:
            results = [check_health(c, ports, name, instance) for c in checks]
            healthy = all(ok for ok, _ in results)
            detail = "; ".join(text for _, text in results)
            health_file.write_text(json.dumps({"healthy": healthy, "detail": detail, "at": time.time()}))
            if healthy and not healthy_once:
                healthy_once = True
                notify("READY=1")
                say(f"{name}: instance {instance} healthy ({detail})")
            for index, (check, (ok, text)) in enumerate(zip(checks, results)):
                in_grace = not healthy_once and now - started < check.get("gracePeriodSeconds", 300)
                failures[index] = 0 if ok or in_grace else failures.get(index, 0) + 1
                limit = check.get("maxConsecutiveFailures", 3)
                if limit and failures[index] >= limit:
                    say(f"{name}: instance {instance} unhealthy: {failures[index]} failures in a row ({text}); "
                        f"stopping it")
                    subprocess.run(["docker", "stop", "--time", str(definition.get("taskKillGracePeriodSeconds", 10)),
                                    container(name, instance)], capture_output=True)
                    task.wait()
                    return 3
        interval = min((c.get("intervalSeconds", 60) for c in checks), default=1)
        deadline = time.monotonic() + (max(0.0, first_check - time.monotonic()) or interval)
        while task.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    say(f"{name}: instance {instance}: container exited with {task.returncode}")
    return task.returncode or 1  # Marathon restarts any task that ends: so does systemd (on-failure)


# --- apply: roll a new version out, one instance at a time -------------------------------
def systemctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["systemctl", *args], capture_output=True, text=True)


def instances_present(name: str) -> set[int]:
    """Instances enabled (a wants link) or loaded in any state."""
    found = {int(p.name.split("@", 1)[1].removesuffix(".service"))
             for p in WANTS.glob(f"bigdata-app-{name}@*.service")}
    listed = systemctl("list-units", "--all", "--plain", "--no-legend", f"bigdata-app-{name}@*.service").stdout
    for line in listed.splitlines():
        instance = line.split()[0].split("@", 1)[1].removesuffix(".service")
        if instance.isdigit() and line.split()[2] != "inactive":
            found.add(int(instance))
    return found


def active(name: str, instance: int) -> bool:
    return systemctl("is-active", "--quiet", unit(name, instance)).returncode == 0


def start(name: str, instance: int, restart: bool) -> bool:
    systemctl("enable", unit(name, instance))
    if not restart and active(name, instance):
        return True
    say(f"{name}: {'restarting' if restart else 'starting'} instance {instance}, waiting until healthy")
    return systemctl("restart", unit(name, instance)).returncode == 0


def retire(name: str, instance: int) -> None:
    say(f"{name}: stopping surplus instance {instance}")
    systemctl("disable", "--now", unit(name, instance))
    systemctl("reset-failed", unit(name, instance))
    (STATE / name / f"health-{instance}.json").unlink(missing_ok=True)


def converge(name: str, restart: set[int] | bool) -> int | None:
    """Start the version in current.*: the instances in `restart` (or all) restarted, the
    others only started if down, one at a time; surplus ones stopped. Returns the first
    instance that never became healthy, or None."""
    files, _ = read_version(name, "current")
    wanted = definition_of(files).get("instances", 1)
    for instance in range(1, wanted + 1):
        if not start(name, instance, restart is True or instance in restart):
            return instance
    for instance in sorted(instances_present(name) - set(range(1, wanted + 1))):
        retire(name, instance)
    return None


def health_failure(name: str, instance: int, definition: dict) -> str:
    checks = ", ".join(f"{c.get('protocol')} {c.get('path', '')} on port index {c.get('portIndex', 0)} "
                       f"(grace {c.get('gracePeriodSeconds')}s, every {c.get('intervalSeconds')}s, "
                       f"{c.get('maxConsecutiveFailures')} failures)" for c in definition.get("healthChecks", []))
    try:
        last = json.loads((STATE / name / f"health-{instance}.json").read_text())["detail"]
    except (FileNotFoundError, ValueError, KeyError):
        last = "no check answered (the container did not start or exited: journalctl -u " + unit(name, instance) + ")"
    return f"health check {checks or '(none)'} never passed; last: {last}"


def apply(name: str) -> int:
    files = {part: (DESIRED / f"{name}.{part}").read_bytes() for part in PARTS}
    definition = definition_of(files)
    image = image_id(definition["container"]["docker"]["image"])
    if not image:
        say(f"{definition['id']}: image {definition['container']['docker']['image']} is not on this host")
        return 1
    current = read_version(name, "current")
    changed = current is None or fingerprint(*current) != fingerprint(files, image)
    if current and changed:
        write_version(name, "previous", *current)
    write_version(name, "current", files, image)
    restart = restarts_needed(current, (files, image))
    failed = converge(name, restart)
    if failed is None:
        say(f"{definition['id']}: {definition.get('instances', 1)} instance(s) healthy")
        return 0
    reason = health_failure(name, failed, definition)
    if not changed:  # the version that ran before: nothing older to go back to
        print(f"{definition['id']} ({name}): instance {failed}: {reason}", file=sys.stderr)
        return 1
    if current is None:
        for instance in instances_present(name):
            retire(name, instance)
        for path in (STATE / name).glob("current.*"):  # never ran healthy: nothing to keep
            path.unlink()
        restore_desired(name, None)
        print(f"{definition['id']} ({name}): instance {failed}: {reason}; no previous version to go back to: "
              f"the app is stopped", file=sys.stderr)
        return 1
    write_version(name, "current", *current)  # back to the version that ran before
    restore_desired(name, current[0])
    # back to the previous version: the instances that got the new one restart, the others never stopped
    still_failing = converge(name, set(range(1, failed + 1)) if restart is True else restart | {failed})
    back = "the previous version runs again" if still_failing is None else \
        f"the previous version did not become healthy either (instance {still_failing})"
    print(f"{definition['id']} ({name}): instance {failed}: {reason}; rolled back: {back}", file=sys.stderr)
    return 1


def restore_desired(name: str, files: dict[str, bytes] | None) -> None:
    """What the deploy wrote goes back to what runs (or away, if nothing does): the next
    run then sees the failed version as a change again, and the same good one as none."""
    for part in PARTS:
        path = DESIRED / f"{name}.{part}"
        if files is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(files[part])
            path.chmod(0o600 if part == "env" else 0o644)


def status(name: str) -> int:
    """The app's version and instances; for each active instance, what its HTTP health
    endpoint answers now (the service's own /health body: state, problem, lag)."""
    current = read_version(name, "current")
    present = instances_present(name)
    running = sorted(i for i in present if active(name, i))
    health = {}
    if current:
        ports = json.loads(current[0]["ports"])
        http = [c for c in definition_of(current[0]).get("healthChecks", [])
                if c.get("protocol", "HTTP") in ("HTTP", "MESOS_HTTP")]
        for instance in running if http else []:
            own = ports.get(str(instance), [])
            port = own[http[0].get("portIndex", 0)] if own else http[0].get("port")
            health[instance] = health_body(f"http://127.0.0.1:{port}{http[0].get('path', '/')}")
    print(json.dumps({"fingerprint": fingerprint(*current) if current else None,
                      "instances": sorted(present), "active": running, "health": health}))
    return 0


def health_body(url: str) -> dict:
    """The JSON a health endpoint answers, with its HTTP status, or what went wrong."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            code, body = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        code, body = error.code, error.read()
    except (OSError, ValueError) as error:
        return {"http_status": None, "error": str(getattr(error, "reason", error))}
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    return {"http_status": code, **answer} if isinstance(answer, dict) else {"http_status": code}


def remove(name: str) -> int:
    for instance in instances_present(name):
        retire(name, instance)
    shutil.rmtree(STATE / name, ignore_errors=True)
    return 0


def main(argv: list[str]) -> int:
    command, name, *rest = argv
    if command == "run":
        return run(name, int(rest[0]))
    return {"apply": apply, "status": status, "remove": remove}[command](name)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
