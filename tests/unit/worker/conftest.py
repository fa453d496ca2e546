"""The worker's shared modules are tested once with each worker model's contract (service.worker.model).

Loading the eventlet model here imports eventlet, as the door's own tests
do; nothing is monkey-patched in this process.
"""

import pytest

from service.worker import model as worker_model


@pytest.fixture(params=sorted(worker_model.MODELS))
def model(request):
    return worker_model.load(request.param)
