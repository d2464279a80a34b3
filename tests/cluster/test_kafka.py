"""deploys/kafka on one host and on three, verified by testinfra with Kafka's own
tools on the hosts: the KRaft quorum, the pipeline's topics and users, SASL/SCRAM
over TLS only (the host's certificate from the platform's CA) and ACLs, a rolling
restart on a config change, and (three nodes) a broker down."""
import json
import os
import re
import textwrap
import time
import uuid
from datetime import datetime, timezone

import pytest

from ctl import ROOT, hosts
from ctl.provision import containers_of, run_deploy
from deploys.kafka import ADMIN_CONFIG, TOOL, Settings
from deploys.kafka.users import RETIRED_USERS, USERS, user
from deploys.tls import pki
from shared import secrets
from shared.names import ANALYTICS_TOPIC, DEAD_LETTER_TOPIC, KAFKA_ADMIN_USER, LIVE_GROUP, TICKS_TOPIC, WRITER_GROUP
from tlskit import ANOTHER_CA, CA, TLS_DIR, another_ca

PORT, CONTROLLER_PORT, INTERNAL_PORT = 9092, 9093, 9094
TOPICS = (TICKS_TOPIC, ANALYTICS_TOPIC, DEAD_LETTER_TOPIC)
KAFKA_ONLY = {"BIGDATA_COMPONENTS": "kafka"}  # a rerun touches the common base and Kafka only


def kafka(host, name, cls, *args, config=ADMIN_CONFIG, check=True):
    """Run one of Kafka's tool classes on `host` against its own broker."""
    command = f"{TOOL} {cls} --bootstrap-server {name}:{PORT} --command-config {config} {' '.join(args)}"
    result = host.run(command)
    if check:
        assert result.rc == 0, f"{command} failed on {name}:\n{result.stdout}\n{result.stderr}"
    return result


def client_config(host, user, password, protocol="SASL_SSL", ca=CA) -> str:
    """A client properties file for `user` on the host (the tests' own, from the test secrets):
    over TLS, trusting `ca`, unless `protocol` says otherwise."""
    path = f"/root/rig-{user}-{uuid.uuid4().hex[:8]}.properties"
    body = (f"security.protocol={protocol}\nsasl.mechanism=SCRAM-SHA-512\n"
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{user}" password="{password}";\n')
    if protocol == "SASL_SSL":
        body += f"ssl.truststore.type=PEM\nssl.truststore.location={ca}\n"
    host.run(f"umask 077 && cat > {path} <<'EOF'\n{body}EOF")
    return path


def user_config(host, name: str) -> str:
    """The client settings of a service's user (deploys/kafka/users.py), with this run's password."""
    return client_config(host, name, os.environ[user(name).secret])


def produce(host, name, topic, value, config, max_block_ms=15000):
    """Send one record synchronously with acks=all; the result's rc says whether it was acknowledged.
    The record is JSON (the dead-letter topic's readers parse what they read)."""
    record = json.dumps({"rig_probe": value})
    result = host.run(f"echo '{record}' | {TOOL} org.apache.kafka.tools.ConsoleProducer "
                      f"--bootstrap-server {name}:{PORT} --command-config {config} --topic {topic} "
                      f"--request-required-acks all --sync --max-block-ms {max_block_ms}")
    # a refusal is Kafka's, never the tool's own (a bad option also exits 1)
    assert "Found multiple arguments" not in result.stderr and "is not a recognized option" not in result.stderr, \
        result.stderr
    return result


def consumed(host, name, topic, config, group="rig", check=True) -> str:
    """Everything in the topic, read from the beginning by a fresh consumer group (its name
    starts with `group`); with check, the tool must have succeeded."""
    result = host.run(f"{TOOL} org.apache.kafka.tools.consumer.ConsoleConsumer "
                      f"--bootstrap-server {name}:{PORT} --command-config {config} --topic {topic} "
                      f"--group {group}-{uuid.uuid4().hex[:8]} --from-beginning --timeout-ms 10000")
    if check:  # (ConsoleConsumer ends on its timeout: its exit code says little)
        assert "Authoriz" not in result.stderr and "Processed a total of" in result.stderr, result.stderr[-2000:]
    return result.stdout if check else result.stdout + result.stderr


def expected_replication(platform):
    count = len(platform.hosts)
    return min(3, count), (2 if count >= 3 else 1)


def under_replicated(host, name) -> str:
    return kafka(host, name, "org.apache.kafka.tools.TopicCommand",
                 "--describe --under-replicated-partitions").stdout.strip()


def test_second_run_reports_no_changes_and_never_reformats(platform):
    assert "Format Kafka's storage" in platform.first_run.output
    assert "Kafka" in platform.second_run.output, "the Kafka deploy did not run"
    assert platform.second_run.changed == 0, platform.second_run.output[-3000:]
    assert "Format Kafka's storage" not in platform.second_run.output


def test_service_runs_as_the_service_user_with_its_limits(platform):
    for host, name in zip(platform.hosts, platform.names):
        service = host.service("kafka")
        assert service.is_running and service.is_enabled, name
        pid = host.check_output("systemctl show -p MainPID --value kafka")
        assert host.check_output(f"ps -o user= -p {pid}") == "bigdata"
        command_line = host.file(f"/proc/{pid}/cmdline").content_string.replace("\0", " ")
        assert "-Xmx512m" in command_line and "kafka.Kafka" in command_line  # kafka_heap_mb in group_data/local.py
        ceiling = int(host.check_output("awk '/^Max open files/ {print $5}' /proc/1/limits"))
        assert int(host.check_output(f"awk '/^Max open files/ {{print $4}}' /proc/{pid}/limits")) == min(100000, ceiling)
        tmpdir = re.search(r"-Djava\.io\.tmpdir=(\S+)", command_line)[1]
        mount_options = host.check_output(f"findmnt -n -o OPTIONS --target {tmpdir}")
        assert "noexec" not in mount_options.split(","), f"{tmpdir} is on a noexec mount"
        for log in ("gc.log", "server.log", "controller.log"):
            assert host.file(f"/var/log/bigdata/kafka/{log}").exists, f"{log} missing on {name}"
        admin = host.file(ADMIN_CONFIG)
        assert admin.mode == 0o600 and admin.user == "root"


def test_storage_formatted_with_the_stable_cluster_id(platform):
    settings = Settings(kafka_admin_password=os.environ["BIGDATA_KAFKA_ADMIN_PASSWORD"],
                        **{each.password_setting: os.environ[each.secret] for each in USERS})
    for host, name in zip(platform.hosts, platform.names):
        meta = host.file("/var/lib/bigdata/kafka/data/meta.properties").content_string
        assert f"cluster.id={settings.cluster_id()}" in meta, name


def test_metadata_quorum_has_every_node_as_voter(platform):
    host, name = platform.hosts[0], platform.names[0]
    status = kafka(host, name, "org.apache.kafka.tools.MetadataQuorumCommand", "describe --status").stdout
    voters = re.search(r"CurrentVoters:\s+(\[.*\])", status)[1]
    voter_ids = sorted(int(i) for i in re.findall(r'"id": (\d+)', voters))
    assert voter_ids == list(range(1, len(platform.hosts) + 1)), status
    for other in platform.names:
        assert f"CONTROLLER://{other}:9093" in voters, f"{other} does not advertise its own address:\n{status}"
    assert int(re.search(r"LeaderId:\s+(\d+)", status)[1]) in voter_ids


def test_pipeline_topics_have_the_right_replication(platform):
    replication, min_insync = expected_replication(platform)
    host, name = platform.hosts[-1], platform.names[-1]
    for topic in TOPICS:
        description = kafka(host, name, "org.apache.kafka.tools.TopicCommand", f"--describe --topic {topic}").stdout
        assert f"ReplicationFactor: {replication}" in description, description
        assert f"min.insync.replicas={min_insync}" in description, description
        assert "PartitionCount: 3" in description


def test_scram_users_exist(platform):
    host, name = platform.hosts[0], platform.names[0]
    users = kafka(host, name, "org.apache.kafka.tools.ConfigCommand", "--describe --entity-type users").stdout
    for name in (KAFKA_ADMIN_USER, *(each.name for each in USERS)):
        assert f"user-principal '{name}' are SCRAM-SHA-512" in users, users
    for name in RETIRED_USERS:
        assert f"user-principal '{name}'" not in users, users


def test_authenticated_round_trip_across_hosts(platform):
    """The writer's user dead-letters on one host; the admin reads it on another (the last)."""
    value = f"rig-round-trip-{uuid.uuid4()}"
    producer_host, producer_name = platform.hosts[0], platform.names[0]
    consumer_host, consumer_name = platform.hosts[-1], platform.names[-1]
    sent = produce(producer_host, producer_name, DEAD_LETTER_TOPIC, value, user_config(producer_host, "storage-writer"))
    assert sent.rc == 0, sent.stderr
    assert value in consumed(consumer_host, consumer_name, DEAD_LETTER_TOPIC, ADMIN_CONFIG)


def test_unauthenticated_and_wrong_password_clients_are_refused(platform):
    host, name = platform.hosts[0], platform.names[0]
    plain = f"rig-unauthenticated-{uuid.uuid4()}"
    host.run("printf 'security.protocol=PLAINTEXT\\n' > /root/rig-plaintext.properties")
    refused = produce(host, name, DEAD_LETTER_TOPIC, plain, "/root/rig-plaintext.properties",
                      max_block_ms=8000)
    assert refused.rc != 0
    wrong = f"rig-wrong-password-{uuid.uuid4()}"
    bad_config = client_config(host, "storage-writer", "not-the-password-0123456789")
    denied = produce(host, name, DEAD_LETTER_TOPIC, wrong, bad_config)
    assert denied.rc != 0 and "Authentication failed" in denied.stdout + denied.stderr
    everything = consumed(host, name, DEAD_LETTER_TOPIC, ADMIN_CONFIG)
    assert plain not in everything and wrong not in everything


def test_a_plaintext_client_with_the_right_password_is_refused(platform):
    """Both listeners speak TLS only: the right password without TLS gets nowhere."""
    host, name = platform.hosts[0], platform.names[0]
    value = f"rig-sasl-plaintext-{uuid.uuid4()}"
    plaintext = client_config(host, "storage-writer", os.environ[user("storage-writer").secret],
                              protocol="SASL_PLAINTEXT")
    refused = produce(host, name, DEAD_LETTER_TOPIC, value, plaintext, max_block_ms=8000)
    assert refused.rc != 0
    assert value not in consumed(host, name, DEAD_LETTER_TOPIC, ADMIN_CONFIG)


def test_a_client_trusting_another_ca_is_refused(platform):
    host, name = platform.hosts[0], platform.names[0]
    another_ca(host)
    value = f"rig-another-ca-{uuid.uuid4()}"
    foreign = client_config(host, "storage-writer", os.environ[user("storage-writer").secret],
                            ca=ANOTHER_CA)
    refused = produce(host, name, DEAD_LETTER_TOPIC, value, foreign, max_block_ms=8000)
    said = refused.stdout + refused.stderr
    assert refused.rc != 0 and ("SSL handshake failed" in said or "PKIX path" in said), said[-2000:]
    assert value not in consumed(host, name, DEAD_LETTER_TOPIC, ADMIN_CONFIG)


def test_every_listener_presents_the_hosts_certificate_for_its_name_and_address(platform):
    """What every client checks: the certificate chains to the platform's CA and names the
    address it connects to (clients and brokers reach brokers at their IP, controllers at
    their name). The nodes' own listeners want a certificate back: the host's."""
    checker = platform.hosts[0]
    node = f"-cert {TLS_DIR}/host.crt -key {TLS_DIR}/host.key"
    for name in platform.names:
        ip = hosts.ip_address(name)
        for port, target, mine in ((PORT, ip, ""), (INTERNAL_PORT, ip, node), (CONTROLLER_PORT, name, node)):
            verify = "-verify_ip" if target == ip else "-verify_hostname"
            reply = checker.run(f"openssl s_client -connect {ip}:{port} -CAfile {CA} {verify} {target} {mine} "
                                f"-verify_return_error -brief < /dev/null")
            said = reply.stdout + reply.stderr
            assert reply.rc == 0 and "Verification: OK" in said, f"{name}:{port}: {said[-1500:]}"


def node_config(host, keystore: str | None) -> str:
    """Client settings for the nodes' own listeners (mutual TLS): presenting `keystore`
    (a PEM of key and certificate), or no certificate at all."""
    path = f"/root/rig-node-{uuid.uuid4().hex[:8]}.properties"
    body = (f"security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={CA}\n"
            "request.timeout.ms=15000\ndefault.api.timeout.ms=20000\n")
    if keystore:
        body += f"ssl.keystore.type=PEM\nssl.keystore.location={keystore}\n"
    host.run(f"umask 077 && cat > {path} <<'EOF'\n{body}EOF")
    return path


def test_the_nodes_own_listeners_admit_only_the_brokers_certificates(platform):
    """Broker to broker and the quorum: no password, a certificate. No certificate is refused
    in the handshake; one from the platform's CA for another name (not a broker's) is
    authenticated but allowed nothing; the host's own is a super user (the nodes' principals)."""
    host, name = platform.hosts[0], platform.names[0]
    ip = hosts.ip_address(name)
    ca = pki.load_ca(secrets.ca_file(pki.CA_CERT), secrets.ca_file(pki.CA_KEY))
    key, cert = pki.issue(ca, pki.HostNames.of("intruder.example"), days=1)
    intruder = "/root/rig-intruder.pem"
    host.run(f"umask 077 && cat > {intruder} <<'EOF'\n{key.decode()}{cert.decode()}EOF")
    own = host.check_output("ls /etc/kafka/keystore-*.pem")
    asks = {  # a request only a super user may make, on each of the two listeners
        INTERNAL_PORT: (f"org.apache.kafka.tools.ConfigCommand --bootstrap-server {ip}:{INTERNAL_PORT}",
                        "--describe --entity-type users", f"user-principal '{KAFKA_ADMIN_USER}'"),
        CONTROLLER_PORT: (f"org.apache.kafka.tools.MetadataQuorumCommand --bootstrap-controller {name}:{CONTROLLER_PORT}",
                          "describe --status", "LeaderId:"),
    }
    for port, (tool, request, answer) in asks.items():
        for keystore, expected in ((None, "certificate_required"),
                                   (intruder, "Cluster authorization failed|ClusterAuthorizationException"),
                                   (own, re.escape(answer))):
            result = host.run(f"timeout 90 {TOOL} {tool} --command-config {node_config(host, keystore)} {request}")
            said = result.stdout + result.stderr
            assert re.search(expected, said), f"port {port}, {keystore or 'no certificate'}: {said[-2000:]}"
            assert (result.rc == 0) == (keystore == own), f"port {port}, {keystore}: rc {result.rc}"


def test_the_acls_are_exactly_the_users_table(platform):
    """What the cluster allows is what deploys/kafka/users.py says, and nothing else."""
    host, name = platform.hosts[0], platform.names[0]
    listed = kafka(host, name, "org.apache.kafka.tools.AclCommand", "--list").stdout
    found = set()
    for line in listed.splitlines():
        if match := re.search(r"resourceType=(\w+), name=(.+), patternType=(\w+)\)", line):
            resource = match.groups()
        elif match := re.search(r"\(principal=(\S+), host=\*, operation=(\w+), permissionType=ALLOW\)", line):
            found.add((match[1], *resource, match[2]))
    assert found == set().union(*(each.acls() for each in USERS)), listed


@pytest.mark.parametrize("who,action,topic,group,refusal", [
    ("producer", "consume", TICKS_TOPIC, "rig", "Not authorized to access group"),
    ("live-lane", "consume", ANALYTICS_TOPIC, LIVE_GROUP, "Not authorized to access topics"),
    ("storage-writer", "produce", ANALYTICS_TOPIC, None, "Not authorized to access topics"),
    ("live-lane", "produce", DEAD_LETTER_TOPIC, None, "Not authorized to access topics"),
    # the writer reads ticks, but not in the live lane's group (nor read its offsets)
    ("storage-writer", "consume", TICKS_TOPIC, LIVE_GROUP, "Not authorized to access group"),
])
def test_a_service_user_is_refused_outside_its_acls(three_node, who, action, topic, group, refusal):
    """(The same ACLs on both shapes: it runs in the three-node lane, which has the time.)"""
    host, name = three_node.hosts[0], three_node.names[0]
    config = user_config(host, who)
    if action == "produce":
        value = f"rig-outside-acls-{uuid.uuid4()}"
        refused = produce(host, name, topic, value, config)
        said = refused.stdout + refused.stderr
        assert refused.rc != 0 and refusal in said, said[-2000:]
        assert value not in consumed(host, name, topic, ADMIN_CONFIG)
    else:
        said = consumed(host, name, topic, config, group=group, check=False)
        assert refusal in said, said[-2000:]


def test_a_service_user_reads_its_topic_in_its_own_group(platform):
    host, name = platform.hosts[0], platform.names[0]
    consumed(host, name, TICKS_TOPIC, user_config(host, "storage-writer"), group=WRITER_GROUP)


def test_a_service_user_cannot_create_topics(platform):
    """Authenticated is not all-powerful: no service's user creates topics."""
    host, name = platform.hosts[0], platform.names[0]
    topic = f"rig-forbidden-{uuid.uuid4().hex[:8]}"
    created = kafka(host, name, "org.apache.kafka.tools.TopicCommand",
                    f"--create --topic {topic} --partitions 1 --replication-factor 1",
                    config=user_config(host, "producer"), check=False)
    assert created.rc != 0 and "Authorization failed" in created.stdout + created.stderr
    listed = kafka(host, name, "org.apache.kafka.tools.TopicCommand", "--list").stdout.split()
    assert topic not in listed and set(TOPICS) <= set(listed)


def test_broker_memory(platform):
    """A broker with a 512 MB heap stays well under 1 GiB resident."""
    for host, name in zip(platform.hosts, platform.names):
        pid = host.check_output("systemctl show -p MainPID --value kafka")
        rss_mib = int(host.check_output(f"ps -o rss= -p {pid}")) // 1024
        print(f"{name}: Kafka broker RSS {rss_mib} MiB")
        assert rss_mib < 1024, f"{name}: broker RSS {rss_mib} MiB"


def _override_inventory(platform, tmp_path, **data) -> str:
    """The platform's inventory with host data changed, as an operator would edit it
    (same name, same group_data)."""
    folder = tmp_path / "inventories"
    folder.mkdir()
    (folder / "group_data").symlink_to(ROOT / "inventories" / "group_data")
    original = ROOT / platform.inventory
    inventory = folder / original.name
    inventory.write_text(textwrap.dedent(f"""\
        import runpy
        from deploys.inventory import check_inventory
        _original = runpy.run_path({str(original)!r})
        _override = {data!r}
        for _name, _hosts in _original.items():
            if not _name.startswith("_") and isinstance(_hosts, list) and _hosts and isinstance(_hosts[0], tuple):
                globals()[_name] = [(_host, {{**_data, **_override}}) for _host, _data in _hosts]
        check_inventory(__file__, globals())
        """))
    return str(inventory)


def _deploy_inventory(platform, inventory: str, log_name: str):
    """Run the site deploy (Kafka only) with another inventory on the platform's hosts."""
    prefix = platform.names[0].removesuffix(containers_of(platform.inventory)[0])
    return run_deploy(inventory, prefix=prefix, extra_env=KAFKA_ONLY, log_name=log_name)


def _systemd_time(host, prop) -> datetime:
    value = host.check_output(f"systemctl show -p {prop} --value --timestamp=us+utc kafka")
    return datetime.strptime(value.removesuffix(" UTC"), "%a %Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc)


def _last_ready(host) -> datetime:
    line = host.check_output("grep 'Kafka Server started' /var/log/bigdata/kafka/server.log | tail -1")
    stamp = re.match(r"\[([^\]]+)\]", line)[1]
    zone = host.check_output("date +%z")
    return datetime.strptime(f"{stamp} {zone}", "%Y-%m-%d %H:%M:%S,%f %z")


def test_config_change_restarts_brokers_one_at_a_time(platform, tmp_path):
    before = {name: _systemd_time(host, "ExecMainStartTimestamp") for host, name in zip(platform.hosts, platform.names)}
    changed = _deploy_inventory(platform, _override_inventory(platform, tmp_path, kafka_log_retention_hours=169),
                                "kafka-config-change")
    try:
        assert changed.returncode == 0, changed.output[-4000:]
        assert "Rolling restart of Kafka" in changed.output and changed.changed > 0
        restarts = []
        for host, name in zip(platform.hosts, platform.names):
            assert "log.retention.hours=169" in host.file("/etc/kafka/server.properties").content_string
            started = _systemd_time(host, "ExecMainStartTimestamp")
            assert started > before[name], f"{name} was not restarted"
            restarts.append((_systemd_time(host, "InactiveEnterTimestamp"), _last_ready(host), name))
        restarts.sort()
        for (_, ready, previous), (stopped, _, following) in zip(restarts, restarts[1:]):
            assert stopped > ready, (f"{following} went down at {stopped} before {previous} was back "
                                     f"at {ready}: not one at a time")
        assert under_replicated(platform.hosts[0], platform.names[0]) == ""
    finally:  # the inventory's own value again (another rolling restart)
        restored = platform.deploy(extra_env=KAFKA_ONLY, log_name="kafka-config-restore")
        assert restored.returncode == 0, restored.output[-4000:]
    assert "log.retention.hours=168" in platform.hosts[0].file("/etc/kafka/server.properties").content_string


def test_cluster_survives_one_broker_down_and_heals(three_node):
    platform = three_node  # a fault a single broker cannot survive
    down, down_name = platform.hosts[-1], platform.names[-1]
    first, first_name = platform.hosts[0], platform.names[0]
    second, second_name = platform.hosts[1], platform.names[1]
    value = f"rig-one-down-{uuid.uuid4()}"
    down.run("systemctl stop kafka")
    try:
        assert not down.service("kafka").is_running
        sent = produce(first, first_name, DEAD_LETTER_TOPIC, value, user_config(first, "storage-writer"))
        assert sent.rc == 0, f"acks=all produce failed with one broker down:\n{sent.stderr}"
        assert value in consumed(second, second_name, DEAD_LETTER_TOPIC, ADMIN_CONFIG)
        assert under_replicated(first, first_name) != "", "a stopped broker should leave partitions under-replicated"
    finally:
        down.run("systemctl start kafka")
    deadline = time.monotonic() + 180
    while (remaining := under_replicated(first, first_name)) and time.monotonic() < deadline:
        time.sleep(3)
    assert remaining == "", f"still under-replicated 180 s after {down_name} came back:\n{remaining}"
    # the returned broker serves clients again
    assert value in consumed(down, down_name, DEAD_LETTER_TOPIC, ADMIN_CONFIG)
