"""worker_model = threads: native OS threads; nothing here imports eventlet or greenlet."""
