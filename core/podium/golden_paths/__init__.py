"""Workload templates (golden paths): scaffold a service, then keep it current.

Plugins offer templates through ``podium_workload_templates``. :mod:`.repository`
turns a template's version directories into the git repository copier needs,
:mod:`.copier_runner` runs copier (imported only there: it is an optional extra,
``pip install 'podium[templates]'``) and :mod:`.provenance` reads which template and
version a service or a deployed workload came from.
"""
