"""sigprop's benchmarks (installed as ``sigprop_benchmarks``; run with ``sigprop bench``)."""
