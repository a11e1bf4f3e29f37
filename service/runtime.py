"""Process-wide settings of a serving process, applied explicitly by the serve entry point
(``policyqa.server.create_server``), never as a side effect of importing a module.

A serving process computes on one thread per question batch: its parallelism is the encode slots
and the worker processes. BLAS or OpenMP threads per matrix product would only oversubscribe the
cores (FAISS's OpenMP threads cost ~10x under load on 2 cores), and threadpoolctl's limits are
process-wide, not per thread.
"""

from __future__ import annotations

import faiss
from threadpoolctl import threadpool_limits


def configure_serving_process() -> None:
    faiss.omp_set_num_threads(1)
    threadpool_limits(1, user_api="blas")
