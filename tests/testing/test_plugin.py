"""The store plugin as a user's project sees it: each case runs a small test
suite of its own with pytester and reads its outcome."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import asyncpg
import pytest

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1

ENABLE = 'pytest_plugins = ["eventsourcing_kit.testing.plugin"]\n'

FRESH_STORES = """
import pytest

from eventsourcing_kit import NewEvent

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("attempt", [1, 2])
async def test_the_store_is_empty(store, attempt):
    assert [event async for event in store.read_all()] == []
    result = await store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    assert result.version == 1
"""


@pytest.fixture
def project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str
) -> pytest.Pytester:
    """A user's project that enables the plugin in its conftest.py; no CI, no DSN
    set; DynamoDB is this session's emulator (so that none is started per run)."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("EVENTSOURCING_KIT_TEST_DSN", raising=False)
    monkeypatch.setenv("EVENTSOURCING_KIT_TEST_DYNAMODB", dynamodb_endpoint)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest(ENABLE)
    return pytester


def passed_backends(result: pytest.RunResult) -> list[str]:
    return sorted(
        re.findall(r"\[(memory|sqlite|postgres|dynamodb)[^\]]*\] PASSED", result.stdout.str())
    )


async def schema_exists(dsn: str, schema: str) -> bool:
    connection = await asyncpg.connect(dsn)
    try:
        found = await connection.fetchval(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema
        )
    finally:
        await connection.close()
    return bool(found)


def test_a_test_asking_for_store_runs_on_each_backend_on_a_fresh_store(
    project: pytest.Pytester, postgres_dsn: str
) -> None:
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest("-v", f"--eventsourcing-kit-dsn={postgres_dsn}")
    result.assert_outcomes(passed=8)
    assert passed_backends(result) == (
        ["dynamodb"] * 2 + ["memory"] * 2 + ["postgres"] * 2 + ["sqlite"] * 2
    )


def test_not_postgres_deselects_the_postgres_runs(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest("-m", "not postgres", f"--eventsourcing-kit-dsn={UNREACHABLE}")
    result.assert_outcomes(passed=6, deselected=2)


def test_not_dynamodb_deselects_the_dynamodb_runs(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest("-m", "not dynamodb and not postgres")
    result.assert_outcomes(passed=4, deselected=4)


def test_an_unreachable_dynamodb_skips_the_dynamodb_runs(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest(
        "-rs", "--eventsourcing-kit-dynamodb=http://127.0.0.1:1", "-m", "not postgres"
    )
    result.assert_outcomes(passed=4, skipped=2, deselected=2)
    result.stdout.fnmatch_lines(["*DynamoDB is unreachable at http://127.0.0.1:1*"])


def test_under_ci_an_unreachable_dynamodb_fails_the_dynamodb_runs(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest(
        "--eventsourcing-kit-dynamodb=http://127.0.0.1:1", "-m", "not postgres"
    )
    result.assert_outcomes(passed=4, errors=2, deselected=2)
    result.stdout.fnmatch_lines(["*CI is set: DynamoDB Local is required*"])


def test_a_directly_parametrized_store_backend_keeps_the_postgres_marker(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_user="""
        import pytest

        pytestmark = pytest.mark.parametrize("store_backend", ["sqlite", "postgres"])


        @pytest.mark.asyncio
        async def test_store(store):
            assert await store.head_position() is None
        """
    )
    result = project.runpytest("-m", "not postgres", f"--eventsourcing-kit-dsn={UNREACHABLE}")
    result.assert_outcomes(passed=1, deselected=1)


def test_an_unreachable_server_skips_the_postgres_runs(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest("-rs", f"--eventsourcing-kit-dsn={UNREACHABLE}")
    result.assert_outcomes(passed=6, skipped=2)
    result.stdout.fnmatch_lines(["*PostgreSQL is unreachable at postgresql://*127.0.0.1:1/test*"])


@pytest.mark.parametrize("ci", ["true", "1", "yes", "TRUE"])
def test_under_ci_an_unreachable_server_fails_the_postgres_runs(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest(f"--eventsourcing-kit-dsn={UNREACHABLE}")
    result.assert_outcomes(passed=6, errors=2)
    result.stdout.fnmatch_lines(["*CI is set: PostgreSQL is required*"])


@pytest.mark.parametrize("ci", ["", "0", "false"])
def test_ci_that_is_not_true_still_skips(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest(f"--eventsourcing-kit-dsn={UNREACHABLE}")
    result.assert_outcomes(passed=6, skipped=2)


def test_the_dsn_comes_from_the_environment_without_the_option(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTSOURCING_KIT_TEST_DSN", UNREACHABLE)
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest("-rs")
    result.assert_outcomes(passed=6, skipped=2)
    result.stdout.fnmatch_lines(["*127.0.0.1:1/test*"])


def test_a_dsn_that_names_a_schema_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest(f"--eventsourcing-kit-dsn={UNREACHABLE}?schema=mine")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*remove ?schema=*"])


CLEANUP_CONFTEST = (
    ENABLE
    + '''
import json
from pathlib import Path

import pytest_asyncio

from eventsourcing_kit.errors import StoreClosedError


@pytest_asyncio.fixture
async def opened():
    """The stores a test opened. Asked for before store_factory, so it is
    torn down after it: it reports whether each store was left open."""
    stores = {}
    yield stores
    report = {}
    for name, store in stores.items():
        try:
            await store.stream_version("Account-1")
        except StoreClosedError:
            report[name] = "closed"
        else:
            report[name] = "open"
    Path("report.json").write_text(json.dumps(report))
'''
)

CLEANUP_TEST = """
from pathlib import Path

import pytest

pytestmark = pytest.mark.asyncio


async def test_that_fails_with_everything_open(opened, store_factory):
    opened["memory"] = await store_factory.open("memory")
    opened["sqlite"] = await store_factory.open("sqlite")
    opened["sqlite again"] = await store_factory.reopen(opened["sqlite"])
    opened["postgres"] = await store_factory.open("postgres")
    opened["postgres again"] = await store_factory.reopen(opened["postgres"])
    Path("schema.txt").write_text(opened["postgres"].schema)
    raise AssertionError("the test fails with its stores open")
"""


def test_a_failing_test_still_has_its_stores_closed_and_its_schema_dropped(
    project: pytest.Pytester, postgres_dsn: str
) -> None:
    project.makeconftest(CLEANUP_CONFTEST)
    project.makepyfile(test_user=CLEANUP_TEST)
    result = project.runpytest(f"--eventsourcing-kit-dsn={postgres_dsn}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the test fails with its stores open*"])
    report = json.loads((project.path / "report.json").read_text())
    assert report == dict.fromkeys(
        ["memory", "sqlite", "sqlite again", "postgres", "postgres again"], "closed"
    )
    schema = (project.path / "schema.txt").read_text()
    assert schema.startswith("eskit_test_")
    assert not asyncio.run(schema_exists(postgres_dsn, schema))


def test_without_the_plugin_enabled_there_is_no_store_and_no_option(
    pytester: pytest.Pytester,
) -> None:
    # Importing the package is not enabling the plugin.
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest("import eventsourcing_kit.testing\n")
    pytester.makepyfile(test_user="def test_store(store):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'store' not found*"])
    result = pytester.runpytest(f"--eventsourcing-kit-dsn={UNREACHABLE}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_without_asyncpg_memory_and_sqlite_run_and_postgres_skips(
    project: pytest.Pytester,
) -> None:
    # A separate process: there, asyncpg cannot be imported, as without the
    # postgres extra.
    project.makeconftest('import sys\n\nsys.modules["asyncpg"] = None\n\n' + ENABLE)
    project.makepyfile(test_user=FRESH_STORES)
    result = project.runpytest_subprocess("-rs")
    result.assert_outcomes(passed=6, skipped=2)
    result.stdout.fnmatch_lines(["*asyncpg is not installed*"])


def documented_files() -> dict[str, str]:
    """The example files of docs/testing.md: ```py blocks that start with `# <name>.py`."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = re.findall(r"^```py\n# (\w+\.py)\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return dict(blocks)


def test_the_documented_examples_run(project: pytest.Pytester, postgres_dsn: str) -> None:
    files = documented_files()
    assert sorted(files) == ["conftest.py", "test_accounts.py", "test_restart.py"]
    project.makeconftest(files.pop("conftest.py"))
    project.makepyfile(**{name.removesuffix(".py"): code for name, code in files.items()})
    result = project.runpytest("-v", f"--eventsourcing-kit-dsn={postgres_dsn}")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [
            "test_accounts.py::test_a_new_stream_starts_at_version_one[[]memory[]] PASSED*",
            "test_accounts.py::test_a_new_stream_starts_at_version_one[[]sqlite[]] PASSED*",
            "test_accounts.py::test_a_new_stream_starts_at_version_one[[]postgres[]] PASSED*",
            "test_accounts.py::test_a_new_stream_starts_at_version_one[[]dynamodb[]] PASSED*",
        ]
    )
