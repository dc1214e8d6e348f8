"""The generated protobuf and gRPC modules, found without a PYTHONPATH.

They are not committed (generate.sh says why): they live in TOLLGATE_PYTHON_GEN or in gen/ next to
this file. Both tollgate_client and errors import them from here, so the lookup is in one place.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import grpc  # noqa: F401  (checked here so a missing package is reported plainly, once)
except ImportError as missing:  # pragma: no cover - a setup error, reported plainly
    raise ImportError(
        f"{missing}: apt-get install python3-grpcio python3-protobuf, and run Debian's"
        " /usr/bin/python3 (another python3 first on PATH does not see those packages)"
    ) from missing

sys.path.insert(0, os.environ.get("TOLLGATE_PYTHON_GEN") or str(Path(__file__).parent / "gen"))
try:
    from google.rpc import error_details_pb2, status_pb2
    from tollgate.v1 import charge_pb2, credential_service_pb2, credential_service_pb2_grpc
    from tollgate.v1 import event_service_pb2, event_service_pb2_grpc
    from tollgate.v1 import receipt_service_pb2, receipt_service_pb2_grpc, wallet_pb2
    from tollgate.v1 import wallet_service_pb2, wallet_service_pb2_grpc
except ImportError as missing:  # pragma: no cover - a setup error, reported plainly
    raise ImportError(f"{missing}: run examples/python/generate.sh first") from missing

__all__ = [
    "error_details_pb2",
    "status_pb2",
    "charge_pb2",
    "credential_service_pb2",
    "credential_service_pb2_grpc",
    "event_service_pb2",
    "event_service_pb2_grpc",
    "receipt_service_pb2",
    "receipt_service_pb2_grpc",
    "wallet_pb2",
    "wallet_service_pb2",
    "wallet_service_pb2_grpc",
]
