"""deploys/tls settings: a CA that is missing, unreadable or not a CA is refused before
any host is touched, in one line naming the key; the repository's inventories turn TLS
on with the CA of BIGDATA_CA_DIR (the tests' own, tests/conftest.py); every host gets the
component, right after the common base; `./bigdata up` makes its CA once."""
import os
import runpy
import stat

import pytest
from pyinfra.api.exceptions import InventoryError

from ctl import ROOT, local
from ctl.console import Exit, Refusal
from deploys import components, tls
from deploys.inventory import check_inventory
from deploys.tls import pki
from inventory_kit import never_contacted, refused, write_inventory
from shared import secrets


@pytest.fixture
def ca_files(tmp_path):
    return pki.write_ca(pki.create_ca("settings test CA"), tmp_path / "ca")


def tls_on(cert, key, more: str = "") -> str:
    return f"tls_enabled = True\ntls_ca_cert = {str(cert)!r}\ntls_ca_key = {str(key)!r}\n{more}"


def single_problem(folder, all_data: str) -> str:
    """The one line an inventory of three hosts with this group_data/all.py is refused with."""
    path = write_inventory(folder, all_data)
    with pytest.raises(InventoryError) as error:
        check_inventory(path, {"local": never_contacted(3)})
    lines = str(error.value).splitlines()[1:]
    assert len(lines) == 1, lines
    return lines[0].strip()


def test_off_by_default_and_then_nothing_is_asked(tmp_path):
    assert tls.Settings().tls_enabled is False
    (host,) = check_inventory(write_inventory(tmp_path), {"local": never_contacted(1)})
    assert "tls_ca_cert" not in host.values


def test_a_usable_ca_is_accepted(tmp_path, ca_files):
    hosts = check_inventory(write_inventory(tmp_path, tls_on(*ca_files)), {"local": never_contacted(2)})
    assert {h.values["tls_ca_cert"] for h in hosts} == {str(ca_files[0])}


@pytest.mark.parametrize("key", ["tls_ca_cert", "tls_ca_key"])
def test_on_without_a_ca_names_the_missing_key(tmp_path, ca_files, key):
    given = {"tls_ca_cert": ca_files[0], "tls_ca_key": ca_files[1]}
    del given[key]
    data = "tls_enabled = True\n" + "".join(f"{k} = {str(v)!r}\n" for k, v in given.items())
    line = single_problem(tmp_path, data)
    assert line.startswith(f"defaults: {key}: missing: tls_enabled needs it (a PEM file on the control machine: `./bigdata up`"), line


@pytest.mark.parametrize("key, file, says", [
    ("tls_ca_cert", "absent", "cannot read {path}: No such file or directory"),
    ("tls_ca_key", "absent", "cannot read {path}: No such file or directory"),
    ("tls_ca_cert", "directory", "cannot read {path}: Is a directory"),  # unreadable, even for root
    ("tls_ca_key", "directory", "cannot read {path}: Is a directory"),
    ("tls_ca_cert", "garbage", "{path} is not a PEM certificate"),
    ("tls_ca_key", "garbage", "{path} is not an unencrypted PEM private key"),
])
def test_a_ca_file_that_cannot_be_used_is_one_line_naming_the_key(tmp_path, ca_files, key, file, says):
    path = tmp_path / "broken"
    if file == "directory":
        path.mkdir()
    elif file == "garbage":
        path.write_text("not PEM\n")
    cert, ca_key = (path, ca_files[1]) if key == "tls_ca_cert" else (ca_files[0], path)
    line = single_problem(tmp_path, tls_on(cert, ca_key))
    assert line.endswith(f"group_data/all.py: {key}: {says.format(path=path)}"), line


def test_a_key_of_another_ca_is_refused(tmp_path, ca_files):
    other = pki.write_ca(pki.create_ca("another"), tmp_path / "other")
    line = single_problem(tmp_path, tls_on(ca_files[0], other[1]))
    assert line.endswith(f"tls_ca_key: {other[1]} is not the key of the CA certificate {ca_files[0]}"), line


def test_a_host_certificate_is_no_ca(tmp_path, ca_files):
    ca = pki.load_ca(*ca_files)
    key, cert = pki.issue(ca, pki.HostNames.of("node1"), days=30)
    (tmp_path / "host.crt").write_bytes(cert)
    pki.write_private(tmp_path / "host.key", key)
    line = single_problem(tmp_path, tls_on(tmp_path / "host.crt", tmp_path / "host.key"))
    assert "tls_ca_cert: " in line and "is not a CA certificate" in line, line


@pytest.mark.parametrize("key, value, says", [
    ("tls_renew_days", 365, "tls_renew_days: Value error, 365 is not below tls_cert_days (365)"),
    ("tls_cert_days", 1, "tls_cert_days: Input should be greater than or equal to 2"),
    ("tls_renew_days", 0, "tls_renew_days: Input should be greater than or equal to 1"),
    ("tls_dir", "'etc/tls'", "tls_dir: String should match pattern"),
    ("tls_dir", "'/etc/tls/'", "tls_dir: String should match pattern"),
])
def test_bad_values_are_refused_naming_the_key(tmp_path, key, value, says):
    refused(tmp_path, {"local": never_contacted(1)}, f"group_data/all.py: {key}: " + says.split(": ", 1)[1][:30],
            all_data=f"{key} = {value}\n")


@pytest.mark.parametrize("inventory", ["bigdata", "cluster", "production.example"])
def test_the_inventories_turn_tls_on_with_the_ca_of_bigdata_ca_dir(inventory):
    namespace = runpy.run_path(str(ROOT / "inventories" / f"{inventory}.py"))  # checks itself
    hosts = check_inventory(str(ROOT / "inventories" / f"{inventory}.py"), namespace)
    ca_dir = os.environ[secrets.CA_DIR_ENV]
    assert ca_dir != str(secrets.DEFAULT_CA_DIR)  # tests never use an operator's CA
    assert {(h.values["tls_enabled"], h.values["tls_ca_cert"], h.values["tls_ca_key"]) for h in hosts} == {
        (True, f"{ca_dir}/ca.crt", f"{ca_dir}/ca.key")}


def test_an_inventory_without_its_ca_is_refused_before_any_host(tmp_path, monkeypatch):
    monkeypatch.setenv(secrets.CA_DIR_ENV, str(tmp_path / "no-ca"))
    with pytest.raises(InventoryError, match=rf"tls_ca_cert: cannot read {tmp_path}/no-ca/ca\.crt: No such file"):
        runpy.run_path(str(ROOT / "inventories" / "cluster.py"))


def test_every_host_gets_tls_right_after_the_common_base():
    assert [c.name for c in components.ALL][:2] == ["common", "tls"]
    (component,) = [c for c in components.PLATFORM if c.name == "tls"]
    assert component.deployed_to([]) and component.deployed_to(["redis"])  # pyinfra leaves "all" out
    kafka = [c for c in components.PLATFORM if c.name == "kafka"][0]
    assert kafka.deployed_to(["kafka"]) and not kafka.deployed_to(["redis"])


# --- the CA ./bigdata up makes ------------------------------------------------------------

def test_up_makes_its_ca_once_with_the_key_kept_to_its_owner(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "ca"
    monkeypatch.setenv(secrets.CA_DIR_ENV, str(directory))
    local.ensure_ca()
    assert "generated the platform's CA" in capsys.readouterr().out
    cert, key = directory / "ca.crt", directory / "ca.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert pki.ca_problem(cert, key) is None
    first = cert.read_bytes(), key.read_bytes()
    local.ensure_ca()  # a second `up` keeps it: the hosts' certificates stay valid
    assert (cert.read_bytes(), key.read_bytes()) == first
    assert capsys.readouterr().out == ""


def test_up_never_replaces_half_a_ca(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "ca"
    monkeypatch.setenv(secrets.CA_DIR_ENV, str(directory))
    local.ensure_ca()
    (directory / "ca.key").unlink()
    before = (directory / "ca.crt").read_bytes()
    with pytest.raises(Refusal) as refusal:
        local.ensure_ca()
    assert refusal.value.code == Exit.SETTINGS
    assert f"{directory}/ca.crt is there without its key" in capsys.readouterr().err
    assert (directory / "ca.crt").read_bytes() == before and not (directory / "ca.key").exists()
