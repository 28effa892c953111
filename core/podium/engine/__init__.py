"""The plan/apply engine: desired graph, diff against state, and a parallel, journaled apply."""
