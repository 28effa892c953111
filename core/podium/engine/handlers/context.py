"""What every node handler of one run shares: the runtime, the plan, the journal, outputs."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from podium.engine.calls import PluginCalls
from podium.engine.journal import Journal
from podium.engine.live_outputs import LiveValues

if TYPE_CHECKING:
    from podium.engine.plan import Plan
    from podium.engine.runtime import EngineRuntime, LeaseLock
    from podium.platform.contract import ResourceRecord


class Unchanged(Exception):
    """A change found nothing to do once resolved (params, a rendered workload)."""


class ApplyContext:
    """One run's shared state. Outputs are read from state once, then kept as changes finish."""

    def __init__(
        self,
        rt: EngineRuntime,
        plan: Plan,
        run_id: str,
        stop: threading.Event | None = None,
        lease: LeaseLock | None = None,
    ) -> None:
        self.rt = rt
        self.plan = plan
        self.run_id = run_id
        #: the run's cancel signal, handed to deployers through their DeployContext
        self.stop = stop
        #: the run's lease (audit entries written during the run go through it)
        self.lease = lease
        self.journal = Journal(rt.store, run_id)
        self.call = PluginCalls(rt.plugins, rt.engine.timeout)
        #: the records as the run started (a finished delete drops its record)
        self.records: dict[str, ResourceRecord] = {r.uid: r for r in rt.store.records()}
        self._outputs: dict[str, dict[str, Any]] = {}
        self._outputs_lock = threading.Lock()
        #: rendered workloads and deploy results of this run, for observability nodes
        self.rendered: dict[str, Any] = {}
        #: live output values (never in state): returned this run, or read again
        self.live = LiveValues(rt, self.records)

    def outputs_of(self, uid: str) -> dict[str, Any]:
        with self._outputs_lock:
            if uid in self._outputs:
                return self._outputs[uid]
        record = self.records.get(uid)
        value: dict[str, Any] = self.rt.cipher.unseal(record.outputs) if record else {}
        with self._outputs_lock:
            self._outputs.setdefault(uid, value)
            return self._outputs[uid]

    def set_outputs(self, uid: str, outputs: dict[str, Any]) -> None:
        with self._outputs_lock:
            self._outputs[uid] = outputs

    def fingerprint(self, value: Any) -> Any:
        from podium.engine.graph import fingerprint_secrets

        return fingerprint_secrets(self.rt.cipher, value)
