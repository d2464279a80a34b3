"""deploys/docker: the engine on every host of the docker group, with the platform's
daemon.json (overlay2 on the host's /var/lib/docker volume, rotated json-file logs),
running a container of the project's own image (no registry). The second run
reporting no changes is test_common's (the whole site deploy)."""
import json
import subprocess

import pytest
import testinfra

from ctl import images
from deploys import docker


@pytest.fixture
def docker_hosts(platform):
    names = platform.members("docker")
    assert names, "the inventories put the Docker engine on their hosts (group docker)"
    return [(name, platform.settings(name, docker.Settings)) for name in names]


def host_of(name):
    return testinfra.get_host(f"docker://{name}")


def test_engine_installed_enabled_and_running(docker_hosts):
    for name, settings in docker_hosts:
        host = host_of(name)
        assert host.package(settings.docker_package).is_installed
        service = host.service("docker")
        assert service.is_running and service.is_enabled


def test_daemon_json_is_the_platforms(docker_hosts):
    for name, settings in docker_hosts:
        written = json.loads(host_of(name).file("/etc/docker/daemon.json").content_string)
        assert written == docker.daemon_config(settings)


def test_overlay2_on_the_hosts_volume_and_json_file_logs(docker_hosts):
    for name, settings in docker_hosts:
        host = host_of(name)
        info = json.loads(host.check_output("docker info --format '{{json .}}'"))
        assert info["Driver"] == "overlay2", info["Driver"]
        assert info["DockerRootDir"] == settings.docker_data_root
        assert info["LoggingDriver"] == "json-file"
        # a volume of the outer engine (ctl/hosts.py), not the container's own overlay
        assert host.check_output(f"stat -f -c %T {settings.docker_data_root}") != "overlayfs"


def test_the_docker_group_holds_the_configured_users(docker_hosts):
    for name, settings in docker_hosts:
        host = host_of(name)
        assert host.group("docker").exists
        for user in settings.docker_users:
            assert "docker" in host.user(user).groups
        if settings.docker_users:  # such a user really reaches the engine, without sudo
            user = settings.docker_users[0]
            assert host.run(f"runuser -u {user} -- docker version --format '{{{{.Server.Version}}}}'").rc == 0


def test_a_container_of_the_projects_image_runs_inside_the_host(docker_hosts):
    """The base image, loaded into the host's engine (`docker save | docker exec -i HOST
    docker load`: no registry), runs a container with the configured log limits."""
    image = images.base_image()
    name, settings = docker_hosts[0]
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    load = subprocess.run(["docker", "exec", "-i", name, "docker", "load"], stdin=save.stdout,
                          capture_output=True, text=True)
    save.stdout.close()
    assert save.wait() == 0 and load.returncode == 0, load.stderr
    host = host_of(name)
    out = host.run(f"docker run --rm {image} sh -c 'echo ran-inside; cat /etc/debian_version'")
    assert out.rc == 0 and out.stdout.startswith("ran-inside"), out.stderr
    container = host.check_output(f"docker run -d {image} sleep 60")
    try:
        log_config = json.loads(host.check_output(
            f"docker inspect -f '{{{{json .HostConfig.LogConfig}}}}' {container}"))
        assert log_config == {"Type": "json-file", "Config": {"max-size": settings.docker_log_max_size,
                                                             "max-file": str(settings.docker_log_max_files)}}
    finally:
        host.run(f"docker rm -f {container}")
