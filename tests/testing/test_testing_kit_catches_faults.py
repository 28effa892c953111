"""The kits catch seeded bugs: each sample breaks one rule, and a pytest run of the kit
against it (through ``pytester``) fails the check for that rule with a message naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

PROVISIONER_TEST = """
from pathlib import Path

import pytest
from kit_samples import {sample}, count_directories, interrupt_directory_create
from podium.testing.conformance import ProvisionerConformance


class TestSample(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self):
        return {sample}()

    @pytest.fixture
    def count_resources(self):
        return lambda ctx: count_directories(Path(ctx.env.state_dir) / "volumes")

    @pytest.fixture
    def interrupt_create(self):
        return interrupt_directory_create

    @pytest.fixture
    def provoke_error(self):
        return lambda provisioner, make_context: provisioner.create(
            make_context("bad", params={{"size": 0}})
        )
"""

SINK_TEST = """
import pytest
from sink_samples import {sample}, delivered_lines
from podium.testing.conformance import TelemetrySinkConformance


class TestSample(TelemetrySinkConformance):
    @pytest.fixture
    def telemetry_sink(self, tmp_path):
        return {sample}(tmp_path / "events.jsonl")

    @pytest.fixture
    def delivered_events(self):
        return delivered_lines

    @pytest.fixture
    def break_delivery(self):
        def into_a_missing_directory(sink):
            sink.path = sink.path.parent / "removed" / "events.jsonl"

        return into_a_missing_directory
"""

STATE_TEST = """
import pytest
from sink_samples import {sample}
from podium.testing.conformance import StateBackendConformance


class TestSample(StateBackendConformance):
    @pytest.fixture
    def state_backend(self):
        return {sample}()
"""


@dataclass(frozen=True)
class Seeded:
    sample: str
    kit: str
    failed: frozenset[str]  #: the kit's tests that must fail, and only they
    says: tuple[str, ...]  #: what the failure messages must say
    never_shows: tuple[str, ...] = ()  #: secret values that must not be printed


SEEDED = [
    Seeded(
        "DeleteLeavesResource",
        PROVISIONER_TEST,
        frozenset({"test_delete_then_read_is_none"}),
        (
            "contract rule 'delete-removes-the-resource' is broken",
            "after delete(ctx), read(ctx) returns None",
            "the resource was left behind",
        ),
    ),
    Seeded(
        "HalfMadeReportedExisting",
        PROVISIONER_TEST,
        frozenset({"test_interrupted_create_is_absent_or_adopted"}),
        (
            "contract rule 'interrupted-create-absent-or-whole' is broken",
            "read reported the half-made resource as existing",
            "'password': in create, missing from read after the interruption",
        ),
    ),
    Seeded(
        "MissingDeclaredOutput",
        PROVISIONER_TEST,
        frozenset({"test_declared_outputs_are_returned"}),
        (
            "contract rule 'declared-outputs-are-returned' is broken",
            "missing mount_options",
        ),
    ),
    Seeded(
        "PlainSecretLookingOutput",
        PROVISIONER_TEST,
        frozenset({"test_secret_outputs_are_secret"}),
        (
            "contract rule 'sensitive-outputs-are-declared-secrets' is broken",
            "'api_token' looks secret but is a plain str",
        ),
        ("plain-token-value",),
    ),
    Seeded(
        "UndeclaredSecretOutput",
        PROVISIONER_TEST,
        frozenset({"test_secret_outputs_are_secret"}),
        (
            "contract rule 'sensitive-outputs-are-declared-secrets' is broken",
            "'replica_dsn' is a Secret but is not declared sensitive",
        ),
    ),
    Seeded(
        "SchemaMissingOutput",
        PROVISIONER_TEST,
        frozenset({"test_declared_outputs_are_returned"}),
        (
            "contract rule 'declared-outputs-are-returned' is broken",
            "missing mount_options",
        ),
    ),
    Seeded(
        "SchemaSensitiveReturnedPlain",
        PROVISIONER_TEST,
        frozenset({"test_secret_outputs_are_secret"}),
        (
            "contract rule 'sensitive-outputs-are-declared-secrets' is broken",
            "'password' is declared sensitive but is a str, not a Secret",
        ),
    ),
    Seeded(
        "NonIdempotentCreate",
        PROVISIONER_TEST,
        frozenset({"test_create_twice_is_idempotent"}),
        (
            "contract rule 'create-is-idempotent' is broken",
            "'access_key': sensitive value differs (values not shown)",
        ),
        ("SEEDED-ACCESS-KEY",),
    ),
    Seeded(
        "StrictJsonSink",
        SINK_TEST,
        frozenset({"test_emit_never_raises_for_odd_events"}),
        (
            "contract rule 'emit-never-raises' is broken",
            "raised TypeError",
        ),
    ),
    Seeded(
        "ForgetfulSink",
        SINK_TEST,
        frozenset({"test_close_flushes_what_was_emitted"}),
        (
            "contract rule 'close-flushes' is broken",
            "5 of 5 events emitted before close were not delivered",
        ),
    ),
    Seeded(
        "NonAtomicJournalBackend",
        STATE_TEST,
        frozenset(
            {
                "test_journal_is_all_or_nothing[unknown]",
                "test_journal_is_all_or_nothing[closed]",
            }
        ),
        (
            "contract rule 'journal-is-atomic' is broken",
            "the refused batch still changed the pending intents",
        ),
    ),
    Seeded(
        "LostIntentJournalBackend",
        STATE_TEST,
        frozenset(
            {
                "test_journal_records_intents_in_order",
                "test_journal_closes_outcomes_and_opens_intents",
                "test_journal_is_all_or_nothing[unknown]",
                "test_journal_is_all_or_nothing[closed]",
                "test_intents_stay_pending_until_completed",
                "test_record_owner_round_trips",  # its outcome goes through the lossy journal
                # its journal drops the stale lease's intent (and fails) before any fence check
                "test_a_stale_epoch_write_is_refused",
            }
        ),
        (
            "contract rule 'journal-keeps-every-intent' is broken",
            "intents for resource:journal-2 were journaled but are not pending",
        ),
    ),
    Seeded(
        "UnfencedBackend",
        STATE_TEST,
        frozenset(
            {"test_a_stale_epoch_write_is_refused", "test_force_unlock_fences_the_removed_holder"}
        ),
        (
            "contract rule 'fencing' is broken",
            "put_record of the stale lease was accepted",
            "contract rule 'fencing-unlock' is broken",
        ),
    ),
]


def run_kit(pytester: pytest.Pytester, source: str) -> tuple[pytest.RunResult, str]:
    pytester.makepyfile(test_sample=source)
    result = pytester.runpytest("-rfEs", "-p", "no:cacheprovider")
    return result, result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("seeded", SEEDED, ids=lambda s: s.sample)
def test_the_kit_names_the_broken_rule(pytester: pytest.Pytester, seeded: Seeded) -> None:
    result, output = run_kit(pytester, seeded.kit.format(sample=seeded.sample))
    failed = set(re.findall(r"FAILED test_sample.py::TestSample::(\S+)", output))
    assert failed == seeded.failed, output
    for message in seeded.says:
        assert message in output, output
    for secret in seeded.never_shows:
        assert secret not in output, f"the secret value {secret!r} was printed:\n{output}"
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == len(seeded.failed) and outcomes.get("passed"), output


def test_correct_samples_pass_every_check(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_provisioner=PROVISIONER_TEST.format(sample="DirectoryProvisioner"),
        test_sink=SINK_TEST.format(sample="BufferedFileSink"),
        test_state=STATE_TEST.format(sample="SqliteStateBackend").replace(
            "from sink_samples import SqliteStateBackend",
            "from podium.state import SqliteStateBackend",
        ),
    )
    result = pytester.runpytest("-rfEs", "-p", "no:cacheprovider")
    # Skipped: test_update_honours_each_param, which needs the sample's param_updates.
    result.assert_outcomes(passed=10 + 6 + 21, skipped=1)


def test_plugin_exceptions_name_the_operation(pytester: pytest.Pytester) -> None:
    """A plugin raising where it must succeed is reported with the call, its traceback kept."""
    source = PROVISIONER_TEST.format(sample="ReadRaises")
    result, output = run_kit(pytester, source)
    assert "PluginCallFailed: read(volume.default#web.never-created-" in output, output
    assert "raised KeyError: 'no such volume'" in output
    assert 'raise KeyError("no such volume")' in output  # the plugin's frame, as the cause
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_schema_declared_sample_passes_and_optional_outputs_may_be_absent(
    pytester: pytest.Pytester,
) -> None:
    """Outputs declared with ``output_fields`` are the kit's source; optional ones are not required."""
    pytester.makepyfile(
        test_provisioner=PROVISIONER_TEST.format(sample="SchemaDirectoryProvisioner")
    )
    result = pytester.runpytest("-rfEs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=10, skipped=1)  # param_updates not given
