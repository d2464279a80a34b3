"""What the cluster tests of TLS listeners share: where every host holds the platform's CA,
and a CA of another platform to prove that a client trusting it is refused."""
from deploys.tls import CA_FILE, Settings

TLS_DIR = Settings().tls_dir
CA = f"{TLS_DIR}/{CA_FILE}"
ANOTHER_CA = "/tmp/another-ca.crt"


def another_ca(host) -> str:
    """Makes a self-signed CA on the host that signed none of the platform's certificates; its path."""
    host.run_expect([0], "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                         f"-subj /CN=another-ca -keyout /tmp/another-ca.key -out {ANOTHER_CA}")
    return ANOTHER_CA
