"""deploys/redis: the users file read back, and the live ACL SETUSER commands for exactly
the users whose definition changed (a rotated password is applied without a restart)."""
from deploys.redis import ADMIN_LOGIN, Settings, acl_lines, apply_live, held_definitions, setuser_commands
from shared import names


def settings(**passwords) -> Settings:
    base = {"redis_password": "a" * 16, "redis_publisher_password": "p" * 16,
            "redis_live_lane_password": "l" * 16, "redis_dashboard_password": "d" * 16}
    return Settings(**{**base, **passwords})


def test_the_users_file_reads_back_as_each_users_definition():
    lines = ["# a comment", "", *acl_lines(settings())]
    held = held_definitions(lines)
    assert set(held) == {"default", names.REDIS_ADMIN_USER, names.REDIS_PUBLISHER_USER,
                         names.REDIS_LIVE_LANE_USER, names.REDIS_DASHBOARD_USER}
    assert held["default"] == "off resetkeys resetchannels -@all"
    assert held_definitions(None) == {}


def test_only_the_changed_user_is_set_again_from_a_reset():
    held = held_definitions(acl_lines(settings()))
    assert setuser_commands(acl_lines(settings()), held) == []
    (command,) = setuser_commands(acl_lines(settings(redis_dashboard_password="n" * 16)), held)
    assert command[:4] == ["ACL", "SETUSER", names.REDIS_DASHBOARD_USER, "reset"]
    assert command[4] == "on" and command[5].startswith("#") and command[5] not in held[names.REDIS_DASHBOARD_USER]
    assert "n" * 16 not in " ".join(command), "only the digest, never the password"
    everyone = setuser_commands(acl_lines(settings()), {})  # a fresh file: every user
    assert [c[2] for c in everyone] == [*(u for u in held if u != names.REDIS_ADMIN_USER), names.REDIS_ADMIN_USER]


def test_the_admin_is_set_last_and_the_deploy_logs_in_with_the_password_redis_holds():
    """A new admin password is applied live too: logged in with the one the host kept (or,
    where none was kept, the new one), the admin's own change last, stopping at a refusal."""
    held = held_definitions(acl_lines(settings()))
    commands = setuser_commands(acl_lines(settings(redis_password="A" * 16, redis_dashboard_password="n" * 16)), held)
    assert [c[2] for c in commands] == [names.REDIS_DASHBOARD_USER, names.REDIS_ADMIN_USER]
    script = str(apply_live("redis-cli --user admin", commands))
    login, *applies = script.split(" && ")
    assert login.startswith(f'export REDISCLI_AUTH="$(cat {ADMIN_LOGIN} 2>/dev/null)";')
    assert login.endswith('ping 2>/dev/null | grep -qx PONG || REDISCLI_AUTH="$NEW_ADMIN_PASSWORD"')
    assert [a.split()[5] for a in applies] == [names.REDIS_DASHBOARD_USER, names.REDIS_ADMIN_USER]
    assert all(a.endswith("| grep -qx OK") for a in applies)
    assert "A" * 16 not in script, "the new password only from the environment"
