"""Progress of long work as ./bigdata shows it, from the events pyinfra's state
callbacks write (deploys/progress.py): a line rewritten in place on a terminal, plain
lines elsewhere; and a deploy's outcome counted from those events."""
import io
import json

from ctl.console import Progress
from ctl.provision import EventReader, _show
from ctl.health import describe_app, last_words


class Terminal(io.StringIO):
    def isatty(self):
        return True


def events(*items):
    return [{"event": kind, "n": n, "total": 3, "name": name} for kind, n, name in items]


def test_off_a_terminal_a_plain_line_for_each_new_component():
    out = io.StringIO()
    progress = Progress(stream=out)
    _show(events(("start", 1, "Kafka | Install"), ("start", 2, "Kafka | Configure"), ("start", 3, "Redis | Install")),
          progress)
    lines = out.getvalue().splitlines()
    assert [line.split(None, 1)[1] for line in lines] == ["[1/3] Kafka", "[3/3] Redis"]
    assert "\r" not in out.getvalue()


def test_off_a_terminal_a_long_operation_says_it_still_runs(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("ctl.console.time.monotonic", lambda: clock[0])
    out = io.StringIO()
    progress = Progress(stream=out)
    _show(events(("start", 2, "Cassandra | Start Cassandra")), progress)
    clock[0] += Progress.STILL_RUNNING_EVERY + 1
    progress.tick()
    assert out.getvalue().splitlines()[-1].endswith("[2/3] still running: Cassandra | Start Cassandra (31s)")


def test_on_a_terminal_one_line_is_rewritten_with_what_runs_and_the_count():
    out = Terminal()
    progress = Progress(stream=out)
    _show(events(("start", 1, "Kafka | Install"), ("start", 2, "Kafka | Configure")), progress)
    progress.close()
    text = out.getvalue()
    assert "\n" not in text and text.count("\r\033[K") >= 3
    assert "[2/3] Kafka | Configure" in text.split("\r\033[K")[-2]
    assert text.endswith("\r\033[K")  # cleared at the end: the step's own "done" line follows


def test_the_event_reader_takes_complete_lines_once(tmp_path):
    path = tmp_path / "events"
    reader = EventReader(path)
    assert reader.new() == []  # not written yet
    path.write_text(json.dumps({"event": "start", "n": 1}) + "\n" + '{"event": "en')
    assert [e["event"] for e in reader.new()] == ["start"]
    with path.open("a") as out:
        out.write('d", "n": 1, "changed": 1, "unchanged": 0, "failed": 0}\n')
    assert [e["event"] for e in reader.new()] == ["end"]
    assert reader.new() == [] and len(reader.seen) == 2


def docker_health(status: str, body: dict | str) -> dict:
    """A container's State.Health as `docker inspect` gives it (the check's output: the /health body)."""
    output = body if isinstance(body, str) else json.dumps(body)
    return {"Status": status, "FailingStreak": 0, "Log": [{"ExitCode": 0 if status == "healthy" else 1,
                                                           "Output": output + "\n"}]}


def test_an_app_is_healthy_only_when_every_replica_runs_and_answers():
    healthy = describe_app("storage-writer", "2/2 (max 1 per node)", [
        docker_health("healthy", {"status": "running", "lag": 3}),
        docker_health("healthy", {"status": "running", "lag": 4})])
    assert healthy.healthy and healthy.detail == "2/2 replicas running, healthy, consumer lag 7"

    short = describe_app("storage-writer", "1/2", [docker_health("healthy", {"lag": 0})])
    assert not short.healthy and short.detail == "1/2 replicas running"

    degraded = describe_app("redis-publisher", "1/1", [
        docker_health("unhealthy", {"status": "degraded", "problem": "redis: connection refused"})])
    assert not degraded.healthy and degraded.detail == "container 1 unhealthy: redis: connection refused"

    starting = describe_app("live-lane", "0/1", [docker_health("starting", "port 8014: connection refused")])
    assert not starting.healthy
    assert starting.detail == "0/1 replicas running; container 1 starting: port 8014: connection refused"

    spark = describe_app("stream-processor", "1/1", [
        docker_health("healthy", {"last_batch": {"offsets_behind_latest": 12}})])
    assert spark.healthy and spark.detail.endswith("consumer lag 12")

    assert not describe_app("producer", "0/0", []).healthy
    assert describe_app("producer", None, []).detail.startswith("no such service")


def test_a_failing_checks_line_is_the_exception_not_a_stack_frame():
    trace = ("Exception in thread \"main\" java.lang.RuntimeException: Request METADATA failed\n"
             "\tat org.apache.kafka.tools.BrokerApiVersionsCommand.main(BrokerApiVersionsCommand.java:70)\n"
             "Caused by: org.apache.kafka.common.errors.TimeoutException: timed out\n"
             "\tat org.apache.kafka.clients.Foo.bar(Foo.java:1)\n\t... 3 more\n")
    assert last_words(trace) == "Caused by: org.apache.kafka.common.errors.TimeoutException: timed out"
    assert last_words("starting\nMode: standalone\n") == "Mode: standalone"
    assert last_words("") == ""
