"""The parts of `manage.py bench_pipeline` (make bench): figures (pure), processes, data,
HTTP load, and one module per mode."""
