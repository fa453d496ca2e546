"""worker_model = eventlet: green threads, through the worker's one door to eventlet (door.py)."""
