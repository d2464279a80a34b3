"""What the cluster tests of TLS listeners share: where every host holds the platform's CA,
a CA of another platform to prove that a client trusting it is refused, and a settling
run before a test that asserts a run restarts nothing (test_tls leaves renewed
certificates for the listeners' next run)."""
from deploys.tls import CA_FILE, Settings

TLS_DIR = Settings().tls_dir
CA = f"{TLS_DIR}/{CA_FILE}"
ANOTHER_CA = "/tmp/another-ca.crt"


def another_ca(host) -> str:
    """Makes a self-signed CA on the host that signed none of the platform's certificates; its path."""
    host.run_expect([0], "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                         f"-subj /CN=another-ca -keyout /tmp/another-ca.key -out {ANOTHER_CA}")
    return ANOTHER_CA


def settle(platform, components: dict[str, str], log_name: str) -> None:
    """A run of the components' deploy before a test that asserts a run restarts nothing:
    what earlier tests left pending is applied first (test_tls's rotation renews the
    certificate files alone; the listeners take them on their next deploy, restarting)."""
    settled = platform.deploy(extra_env=components, log_name=log_name)
    assert settled.returncode == 0, settled.output[-3000:]
