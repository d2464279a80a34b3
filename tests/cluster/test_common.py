"""deploys/common on one host and on three, verified by testinfra."""
import pytest


def test_second_run_reports_no_changes(platform):
    assert platform.first_run.changed > 0, "the first run should have changed the fresh hosts"
    assert platform.second_run.changed == 0, platform.second_run.output[-3000:]


@pytest.mark.parametrize("package", ["openjdk-17-jre-headless", "ca-certificates", "curl", "netcat-openbsd"])
def test_packages_installed(platform, package):
    for host in platform.hosts:
        assert host.package(package).is_installed, f"{package} missing on {host.backend.name}"


def test_java_17_runs(platform):
    for host in platform.hosts:
        version = host.run("java -version")
        assert version.rc == 0 and 'version "17.' in version.stderr


def test_service_user(platform):
    for host in platform.hosts:
        user = host.user("bigdata")
        assert user.exists and user.shell == "/usr/sbin/nologin" and user.home == "/var/lib/bigdata"
        assert user.uid < 1000, "a system user"


@pytest.mark.parametrize("path", ["/opt/bigdata", "/var/lib/bigdata", "/var/log/bigdata"])
def test_directories_owned_by_service_user(platform, path):
    for host in platform.hosts:
        directory = host.file(path)
        assert directory.is_directory and directory.user == "bigdata" and directory.group == "bigdata"


def test_kernel_settings(platform):
    for host in platform.hosts:
        assert host.sysctl("vm.max_map_count") >= 1048575
        assert host.sysctl("vm.swappiness") == 1
        persisted = host.file("/etc/sysctl.d/60-bigdata.conf").content_string
        assert "vm.max_map_count = 1048575" in persisted and "vm.swappiness = 1" in persisted


def test_open_files_limit_for_service_user(platform):
    for host in platform.hosts:
        ceiling = int(host.check_output("awk '/^Max open files/ {print $5}' /proc/1/limits"))
        expected = min(100000, ceiling)
        # what a process of the service user really gets, through PAM limits
        got = host.check_output("su -s /bin/sh -c 'ulimit -n' bigdata")
        assert int(got) == expected


def test_hosts_resolve_each_other(platform):
    for host in platform.hosts:
        for name in platform.names:
            assert host.run(f"getent hosts {name}").rc == 0
