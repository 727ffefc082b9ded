"""Settings from the environment: defaults, clear refusals, and the generated anonymity key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.settings import Settings


def test_defaults_generate_one_private_secret_and_reuse_it(tmp_path: Path) -> None:
    env = {"NEXTPRACTICE_DATA_DIR": str(tmp_path / "data")}

    first = Settings.from_env(env)
    again = Settings.from_env(env)

    key_file = tmp_path / "data" / "secret.key"
    assert first.secret_key == again.secret_key == key_file.read_bytes()
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.database_url is None
    assert first.dialogue_settings().min_group_size == 5


def test_an_explicit_secret_is_used_and_no_file_is_written(tmp_path: Path) -> None:
    env = {"NEXTPRACTICE_DATA_DIR": str(tmp_path), "NEXTPRACTICE_SECRET_KEY": "s" * 20}

    assert Settings.from_env(env).secret_key == b"s" * 20
    assert not (tmp_path / "secret.key").exists()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://app@db.internal/bot", "postgresql+asyncpg://app@db.internal/bot"),
        ("postgres://app@db/bot", "postgresql+asyncpg://app@db/bot"),
        ("sqlite:///var/bot.db", "sqlite+aiosqlite:///var/bot.db"),
        ("postgresql+asyncpg://app@db/bot", "postgresql+asyncpg://app@db/bot"),
        ("PostgreSQL://app@db/bot", "postgresql+asyncpg://app@db/bot"),
        # Managed PostgreSQL hosts print libpq's sslmode; asyncpg calls it ssl.
        ("postgresql://app@db/bot?sslmode=require", "postgresql+asyncpg://app@db/bot?ssl=require"),
        ("sqlite:///var/bot.db?mode=ro", "sqlite+aiosqlite:///var/bot.db?mode=ro"),
    ],
)
def test_database_urls_get_the_async_driver(tmp_path: Path, given: str, expected: str) -> None:
    env = {"NEXTPRACTICE_DATA_DIR": str(tmp_path), "DATABASE_URL": given, "NEXTPRACTICE_SECRET_KEY": "k" * 16}

    assert Settings.from_env(env).database_url == expected


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NEXTPRACTICE_MIN_GROUP_SIZE", "five", "NEXTPRACTICE_MIN_GROUP_SIZE must be a whole number"),
        ("NEXTPRACTICE_MIN_GROUP_SIZE", "1", "NEXTPRACTICE_MIN_GROUP_SIZE must be at least 2"),
        ("PORT", "99999", "PORT must be at most 65535, not 99999"),
        ("NEXTPRACTICE_RETENTION_DAYS", "90d", "RETENTION_DAYS must be a whole number, not '90d'"),
        ("NEXTPRACTICE_RETENTION_DAYS", "0", "NEXTPRACTICE_RETENTION_DAYS must be at least 1"),
        ("NEXTPRACTICE_PREMODERATE", "maybe", "NEXTPRACTICE_PREMODERATE must be true or false"),
        (
            "NEXTPRACTICE_QUIET_HOURS",
            "nights",
            "NEXTPRACTICE_QUIET_HOURS: “nights” is not a start and an end",
        ),
        ("NEXTPRACTICE_LOG_LEVEL", "loud", "NEXTPRACTICE_LOG_LEVEL must be one of"),
        ("NEXTPRACTICE_SLACK_RATE", "fast", "NEXTPRACTICE_SLACK_RATE must be a number of messages a second"),
        ("NEXTPRACTICE_TEAMS_RATE", "-1", "NEXTPRACTICE_TEAMS_RATE must be 0 .no pacing. or more"),
        ("NEXTPRACTICE_SECRET_KEY", "short", "at least 16 characters"),
        ("DATABASE_URL", "localhost/db", "DATABASE_URL must look like"),
        (
            "DATABASE_URL",
            "postgresql://app:s3cret@db/bot?sslmode=require&connect_timeout=10",
            "option connect_timeout is not understood by the bot's PostgreSQL driver",
        ),
        (
            "DATABASE_URL",
            "mysql://app:s3cret@db/bot",
            "must be a PostgreSQL .* or SQLite .* URL, not mysql://$",
        ),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({"NEXTPRACTICE_DATA_DIR": str(tmp_path), name: value})


def test_core_settings_follow_the_environment(tmp_path: Path) -> None:
    env = {
        "NEXTPRACTICE_DATA_DIR": str(tmp_path),
        "NEXTPRACTICE_MIN_GROUP_SIZE": "7",
        "NEXTPRACTICE_OVERDUE_DAYS": "3",
        "NEXTPRACTICE_PREMODERATE": "yes",
        "NEXTPRACTICE_QA_CHANNEL": "#ask-the-exec",
    }

    core = Settings.from_env(env).dialogue_settings()

    assert (core.min_group_size, core.overdue_days, core.premoderate_anonymous, core.qa_channel) == (
        7,
        3,
        True,
        "ask-the-exec",
    )


def test_messages_are_kept_until_a_retention_period_is_set(tmp_path: Path) -> None:
    base = {"NEXTPRACTICE_DATA_DIR": str(tmp_path)}

    assert Settings.from_env(base).retention_days is None
    assert Settings.from_env({**base, "NEXTPRACTICE_RETENTION_DAYS": " 90 "}).retention_days == 90


def test_quiet_hours_are_off_until_set_and_reach_the_core(tmp_path: Path) -> None:
    base = {"NEXTPRACTICE_DATA_DIR": str(tmp_path)}

    assert Settings.from_env(base).dialogue_settings().quiet_hours is None
    quiet = Settings.from_env({**base, "NEXTPRACTICE_QUIET_HOURS": "9pm-7am"}).dialogue_settings().quiet_hours
    assert str(quiet) == "21:00-07:00"


def test_teams_without_token_checks_listens_on_this_machine_only(tmp_path: Path) -> None:
    # Anyone who could reach the port could post activities as anyone, a chief executive included.
    trial = {"NEXTPRACTICE_DATA_DIR": str(tmp_path), "TEAMS_UNAUTHENTICATED": "1"}

    assert Settings.from_env(trial).host == "127.0.0.1"
    assert Settings.from_env({**trial, "NEXTPRACTICE_HOST": "::1"}).host == "::1"
    with pytest.raises(ValueError, match=r"on this machine only: unset NEXTPRACTICE_HOST .*not 0\.0\.0\.0"):
        Settings.from_env({**trial, "NEXTPRACTICE_HOST": "0.0.0.0"})
    assert Settings.from_env({"NEXTPRACTICE_DATA_DIR": str(tmp_path)}).host == "0.0.0.0"  # checked tokens


@pytest.mark.parametrize(
    "given",
    [
        "19:abc123def@thread.tacv2",
        "19%3aabc123def%40thread.tacv2",  # as it sits in the link, not decoded
        "https://teams.microsoft.com/l/channel/19%3aabc123def%40thread.tacv2/General?groupId=1f&tenantId=2e",
    ],
)
def test_the_teams_channel_is_taken_as_an_id_or_the_link_teams_gives(tmp_path: Path, given: str) -> None:
    env = {"NEXTPRACTICE_DATA_DIR": str(tmp_path), "TEAMS_UNAUTHENTICATED": "1", "TEAMS_QA_CHANNEL_ID": given}

    teams = Settings.from_env(env).teams

    assert teams is not None and teams.qa_channel_id == "19:abc123def@thread.tacv2"


@pytest.mark.parametrize(
    "given", ["General", "abc123def@thread.tacv2", "https://teams.microsoft.com/l/team/x"]
)
def test_a_teams_channel_that_is_no_channel_id_is_refused_at_start(tmp_path: Path, given: str) -> None:
    env = {"NEXTPRACTICE_DATA_DIR": str(tmp_path), "TEAMS_UNAUTHENTICATED": "1", "TEAMS_QA_CHANNEL_ID": given}

    with pytest.raises(ValueError, match=r"TEAMS_QA_CHANNEL_ID must be a channel id like 19:abc123@thread"):
        Settings.from_env(env)


TEAMS_APP = {
    "MICROSOFT_APP_ID": "3F2504E0-4F89-41D3-9A0C-0305E82C3301",  # as the Azure portal may show it
    "MICROSOFT_APP_PASSWORD": "secret",
    "MICROSOFT_APP_TENANT_ID": "9B1C2D3E-AAAA-4BBB-8CCC-1234567890AB",
}


def test_teams_ids_are_kept_in_lower_case_as_bot_framework_tokens_carry_them(tmp_path: Path) -> None:
    teams = Settings.from_env({"NEXTPRACTICE_DATA_DIR": str(tmp_path), **TEAMS_APP}).teams

    assert teams is not None
    assert (teams.app_id, teams.tenant_id) == (
        "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
        "9b1c2d3e-aaaa-4bbb-8ccc-1234567890ab",
    )


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"MICROSOFT_APP_ID": "not-a-guid"}, r"MICROSOFT_APP_ID must be a GUID .*Configuration page"),
        ({"MICROSOFT_APP_ID": "00000000-0000-0000-0000-000000000000"}, "MICROSOFT_APP_ID must be a GUID"),
        ({"MICROSOFT_APP_TENANT_ID": "contoso.onmicrosoft.com"}, "MICROSOFT_APP_TENANT_ID must be a GUID"),
    ],
)
def test_teams_ids_that_cannot_be_right_are_refused_at_start(
    tmp_path: Path, changed: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({"NEXTPRACTICE_DATA_DIR": str(tmp_path), **TEAMS_APP, **changed})


def test_the_bot_framework_samples_names_are_pointed_at_ours(tmp_path: Path) -> None:
    # Every Bot Framework sample spells them MicrosoftAppId...: serve said only "no Slack or Teams settings".
    env = {"NEXTPRACTICE_DATA_DIR": str(tmp_path), "MicrosoftAppId": TEAMS_APP["MICROSOFT_APP_ID"]}

    with pytest.raises(ValueError, match=r"MicrosoftAppId is set .*: this bot reads MICROSOFT_APP_ID"):
        Settings.from_env(env)


def test_slack_is_off_without_a_token_and_needs_a_secret_or_an_app_token(tmp_path: Path) -> None:
    base = {"NEXTPRACTICE_DATA_DIR": str(tmp_path)}

    assert Settings.from_env(base).slack is None
    with pytest.raises(ValueError, match=r"SLACK_APP_TOKEN .* or SLACK_SIGNING_SECRET"):
        Settings.from_env({**base, "SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(ValueError, match="starting xoxb-"):
        Settings.from_env({**base, "SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "s"})
    socket = Settings.from_env({**base, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}).slack
    assert socket is not None and socket.app_token == "xapp-1" and socket.api_url == "https://slack.com/api/"
    http = Settings.from_env(
        {
            **base,
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
        }
    ).slack
    assert http is not None and http.api_url == "http://127.0.0.1:9/api/" and not http.app_token


def test_multi_workspace_slack_needs_client_secret_and_signing_secret_and_http(tmp_path: Path) -> None:
    base = {"NEXTPRACTICE_DATA_DIR": str(tmp_path), "SLACK_CLIENT_ID": "111.222"}

    with pytest.raises(ValueError, match="SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET"):
        Settings.from_env({**base, "SLACK_CLIENT_SECRET": "c"})
    full = {**base, "SLACK_CLIENT_SECRET": "c", "SLACK_SIGNING_SECRET": "s", "SLACK_QA_TEAM_ID": "T2"}
    with pytest.raises(ValueError, match="not both"):
        Settings.from_env({**full, "SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(ValueError, match="unset SLACK_APP_TOKEN"):
        Settings.from_env({**full, "SLACK_APP_TOKEN": "xapp-1"})
    slack = Settings.from_env(full).slack
    assert slack is not None and slack.oauth is not None
    assert (slack.bot_token, slack.oauth.client_id, slack.oauth.qa_team_id) == ("", "111.222", "T2")
    assert "chat:write" in slack.oauth.scopes


async def test_a_url_with_sslmode_connects_to_postgresql(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL URL's options: the PostgreSQL leg")
    plain = database_url.replace("postgresql+asyncpg://", "postgresql://")
    settings = Settings.from_env(
        {
            "NEXTPRACTICE_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"{plain}?sslmode=disable",
            "NEXTPRACTICE_SECRET_KEY": "k" * 16,
        }
    )

    engine = create_async_engine(settings.database_url or "")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


def test_with_postgresql_no_key_is_made_up_to_be_locked_into_the_shared_database(tmp_path: Path) -> None:
    env = {"NEXTPRACTICE_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://app@db/bot"}
    with pytest.raises(ValueError, match="With PostgreSQL, set NEXTPRACTICE_SECRET_KEY"):
        Settings.from_env(env)
    assert not (tmp_path / "secret.key").exists()
    # A key already in the data directory (one host, set up before) is still used.
    (tmp_path / "secret.key").write_text("an-older-key-0123456789")
    assert Settings.from_env(env).secret_key == b"an-older-key-0123456789"


def test_a_platforms_rate_may_be_shared_between_replicas_in_decimals(tmp_path: Path) -> None:
    env = {
        "NEXTPRACTICE_DATA_DIR": str(tmp_path),
        "NEXTPRACTICE_SLACK_RATE": "2.5",
        "NEXTPRACTICE_TEAMS_RATE": "0",
    }

    settings = Settings.from_env(env)

    assert (settings.slack_rate, settings.teams_rate) == (2.5, 0)  # Slack's 10 over four replicas; no pacing
    assert Settings.from_env({"NEXTPRACTICE_DATA_DIR": str(tmp_path)}).slack_rate is None  # the published one


def test_a_data_folder_that_cannot_be_written_is_a_setting_error(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")

    with pytest.raises(
        ValueError, match=r"cannot write the generated anonymity key to .*set NEXTPRACTICE_DATA_DIR"
    ):
        Settings.from_env({"NEXTPRACTICE_DATA_DIR": str(blocked / "data")})
