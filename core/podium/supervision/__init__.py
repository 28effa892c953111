"""Helpers every process or container deployer needs, public through :mod:`podium.plugin`.

* :mod:`~podium.supervision.probes`: HTTP and exec readiness/liveness probes;
* :mod:`~podium.supervision.logs`: log files read with ``tail`` and ``follow``;
* :mod:`~podium.supervision.processes`: a process group stopped TERM-then-KILL, and
  a process told apart from a later one that reuses its pid;
* :mod:`~podium.supervision.state_files`: a per-deployer state directory with atomic
  writes and a cross-process lock.

They import only the standard library (no pydantic), so a launcher or supervisor
process may use them without slowing its start.
"""
